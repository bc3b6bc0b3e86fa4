import { randomUUID } from 'node:crypto';
import { COMMAND_NAMES, commandCodec, MAX_COMMAND_LIFETIME_MS, topics, type CommandResult, type GatewayAddress } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import { CameraSnapshotStore } from '../storage/camera-snapshots.js';
import { auditLog, type AuditEntry } from '../audit/audit-log.js';
import type { SqlClient } from '../storage/sql-client.js';
import { keepSnapshot, type RecordedOutcome } from './snapshot-results.js';

export interface StoredCommand {
  id: string;
  site: string;
  gateway: string;
  name: string;
  device: string | null;
  args: Record<string, unknown>;
  issuedBy: string;
  issuedAt: number;
  expiresAt: number;
  /** sent: on its way; unanswered: expired without a result (the gateway was offline, or its answer was lost) */
  status: 'sent' | 'unanswered' | CommandResult['status'];
  detail: string | null;
  result: Record<string, unknown> | null;
  resultAt: number | null;
}

export interface IssueRequest {
  site: string;
  gateway: string;
  name: string;
  device?: string;
  args: Record<string, unknown>;
  issuedBy: string;
  lifetimeMs: number;
  /** the audit line of a person's command (a door opened), written with the command in one transaction */
  audit?: Omit<AuditEntry, 'actor'>;
}

const SELECT = `SELECT id, site, gateway, name, device, args, issued_by AS "issuedBy",
    (extract(epoch from issued_at) * 1000)::float8 AS "issuedAt", (extract(epoch from expires_at) * 1000)::float8 AS "expiresAt",
    -- a command the gateway never answered before it expired will not run any more
    CASE WHEN status = 'sent' AND expires_at < now() THEN 'unanswered' ELSE status END AS status, detail, result, (extract(epoch from result_at) * 1000)::float8 AS "resultAt" FROM commands`;

/** How often a waiting request looks in the database, for results taken by another cloud instance. */
const WAIT_POLL_MS = 200;

/**
 * Commands to gateways, kept as an audit log: each one is recorded (who, what, when, until when)
 * before it is published, and its result is recorded when the gateway reports it. The id is the
 * gateway's key for executing it at most once.
 */
export class CommandService {
  private readonly waiters = new Map<string, Set<(command: StoredCommand) => void>>();
  private readonly snapshots: CameraSnapshotStore;

  constructor(
    private readonly deps: {
      db: SqlClient;
      publish: (topic: string, payload: Buffer) => Promise<void>;
      logger: Logger;
      now?: () => number;
      /** where pictures taken on request are kept; default: camera_snapshots in `db` */
      snapshots?: CameraSnapshotStore;
    },
  ) {
    this.snapshots = deps.snapshots ?? new CameraSnapshotStore(deps.db);
  }

  async issue(request: IssueRequest): Promise<StoredCommand> {
    if (request.lifetimeMs <= 0 || request.lifetimeMs > MAX_COMMAND_LIFETIME_MS) throw new RangeError(`a command lives between 1 ms and ${MAX_COMMAND_LIFETIME_MS} ms, not ${request.lifetimeMs}`);
    const issuedAt = (this.deps.now ?? Date.now)();
    const command = { v: 1 as const, id: randomUUID(), issuedBy: request.issuedBy, issuedAt, expiresAt: issuedAt + request.lifetimeMs, args: request.args };
    await this.deps.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO commands (id, site, gateway, name, device, args, issued_by, issued_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8 / 1000.0), to_timestamp($9 / 1000.0))`,
        [command.id, request.site, request.gateway, request.name, request.device ?? null, JSON.stringify(request.args), request.issuedBy, issuedAt, command.expiresAt],
      );
      if (request.audit) await auditLog.append(tx, { ...request.audit, actor: request.issuedBy, details: { command: command.id, ...request.audit.details } });
    });
    this.deps.logger.info({ site: request.site, gateway: request.gateway, command: request.name, id: command.id, issuedBy: request.issuedBy, args: request.args }, 'command issued');
    try {
      await this.deps.publish(topics.command({ site: request.site, gateway: request.gateway }, request.name), commandCodec.encode(command));
    } catch (err) {
      await this.deps.db.query(`UPDATE commands SET status = 'failed', detail = $2, result_at = now() WHERE id = $1`, [command.id, `not delivered to the broker: ${(err as Error).message}`]);
    }
    return (await this.get(command.id))!;
  }

  /**
   * Records a gateway's result for a command issued here (results of other commands are ignored). The
   * picture of a snapshot goes to camera_snapshots in the same transaction; the command keeps where it
   * went, not the image.
   */
  async recordResult(origin: GatewayAddress, result: CommandResult): Promise<void> {
    const recorded = await this.deps.db.transaction(async (tx) => {
      // Locked: a result delivered twice (two cloud instances, a redelivery) is recorded, and its picture kept, once.
      const rows = await tx.query<{ name: string; device: string | null; issuedBy: string }>(
        `SELECT name, device, issued_by AS "issuedBy" FROM commands WHERE id = $1 AND site = $2 AND gateway = $3 AND status = 'sent' FOR UPDATE`,
        [result.id, origin.site, origin.gateway],
      );
      const command = rows[0];
      if (!command) return undefined;
      const outcome: RecordedOutcome =
        command.name === COMMAND_NAMES.snapshot && result.status === 'ok'
          ? await keepSnapshot(tx, this.snapshots, { site: origin.site, device: command.device, issuedBy: command.issuedBy }, result)
          : { status: result.status, detail: result.detail ?? null, result: result.data ?? null };
      await tx.execute(`UPDATE commands SET status = $2, detail = $3, result = $4, result_at = to_timestamp($5 / 1000.0) WHERE id = $1`, [
        result.id,
        outcome.status,
        outcome.detail,
        outcome.result ? JSON.stringify(outcome.result) : null,
        result.ts,
      ]);
      return outcome;
    });
    if (!recorded) return;
    if (recorded.status !== result.status) this.deps.logger.warn({ ...origin, id: result.id, reported: result.status, recorded: recorded.status, detail: recorded.detail }, 'command result recorded as failed');
    const waiting = this.waiters.get(result.id);
    if (!waiting) return;
    const stored = await this.get(result.id);
    if (stored) for (const resolve of waiting) resolve(stored);
  }

  /** The command once its result is in, or as it stands after `timeoutMs`. */
  async waitForResult(id: string, timeoutMs: number): Promise<StoredCommand | undefined> {
    const deadline = Date.now() + timeoutMs;
    let current = await this.get(id);
    while (current?.status === 'sent' && Date.now() < deadline) {
      const last: StoredCommand = current;
      current = await new Promise<StoredCommand | undefined>((resolve) => {
        const done = (command: StoredCommand | undefined) => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0) this.waiters.delete(id);
          resolve(command);
        };
        const set = this.waiters.get(id) ?? new Set();
        set.add(done);
        this.waiters.set(id, set);
        // A database hiccup ends the wait with what was last known, never an unhandled rejection.
        const timer = setTimeout(() => void this.get(id).then(done, () => done(last)), Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now())));
      });
    }
    return current;
  }

  async get(id: string): Promise<StoredCommand | undefined> {
    const rows = await this.deps.db.query<StoredCommand>(`${SELECT} WHERE id = $1`, [id]);
    return rows[0];
  }

  /** The audit log of a site, newest first. */
  async list(site: string, limit: number, device?: string): Promise<StoredCommand[]> {
    return device === undefined
      ? this.deps.db.query<StoredCommand>(`${SELECT} WHERE site = $1 ORDER BY issued_at DESC LIMIT $2`, [site, limit])
      : this.deps.db.query<StoredCommand>(`${SELECT} WHERE site = $1 AND device = $3 ORDER BY issued_at DESC LIMIT $2`, [site, limit, device]);
  }
}
