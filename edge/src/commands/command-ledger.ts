import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command, CommandResult } from '@gatehouse/contracts';
import type { Logger } from 'pino';

/**
 * The gateway's memory of the commands it has taken, across restarts: each command id is kept until
 * the command expires, so a command delivered again (an MQTT redelivery after a reconnect, or someone
 * replaying a captured message) is refused as a duplicate; once expired it is refused for that. The id
 * is written (and flushed) before the command runs: a crash in between costs a command, never runs
 * one twice. Every command and its result also go to an append-only audit file, one JSON line each.
 */
export class CommandLedger {
  private readonly taken = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly auditFile: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    if (!existsSync(file)) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
      for (const [id, expiresAt] of Object.entries(saved)) if (typeof expiresAt === 'number') this.taken.set(id, expiresAt);
    } catch (err) {
      // Without the ledger a replay inside its expiry could run again: say so loudly.
      this.logger.error({ file, err: (err as Error).message }, 'command ledger unreadable; commands replayed before their expiry would not be recognised');
    }
  }

  /** Why the command must not run ('duplicate' or 'expired'), or undefined after recording it as taken. */
  take(command: Command): 'duplicate' | 'expired' | undefined {
    if (this.taken.has(command.id)) return 'duplicate';
    if (command.expiresAt <= this.now()) return 'expired';
    this.taken.set(command.id, command.expiresAt);
    this.save();
    return undefined;
  }

  /** Appends a line to the audit file: what was asked, by whom, and what came of it. */
  audit(entry: { name: string; command: Command; result: Pick<CommandResult, 'status' | 'detail'> }): void {
    const line = {
      at: new Date(this.now()).toISOString(),
      id: entry.command.id,
      command: entry.name,
      issuedBy: entry.command.issuedBy,
      issuedAt: new Date(entry.command.issuedAt).toISOString(),
      expiresAt: new Date(entry.command.expiresAt).toISOString(),
      args: entry.command.args,
      status: entry.result.status,
      ...(entry.result.detail ? { detail: entry.result.detail } : {}),
    };
    try {
      mkdirSync(dirname(this.auditFile), { recursive: true });
      appendFileSync(this.auditFile, `${JSON.stringify(line)}\n`);
    } catch (err) {
      this.logger.error({ file: this.auditFile, err: (err as Error).message }, 'cannot write the command audit file');
    }
  }

  private save(): void {
    const now = this.now();
    for (const [id, expiresAt] of this.taken) if (expiresAt <= now) this.taken.delete(id);
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, JSON.stringify(Object.fromEntries(this.taken)), { flush: true });
    renameSync(`${this.file}.tmp`, this.file);
  }
}
