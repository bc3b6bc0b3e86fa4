import { formatIssues, snapshotResultDataSchema, type CommandResult } from '@gatehouse/contracts';
import type { CameraSnapshotStore } from '../storage/camera-snapshots.js';
import type { SqlExecutor } from '../storage/sql-client.js';

/** What the audit log keeps of a snapshot taken: where the picture went, not the picture. */
export interface SnapshotResultSummary {
  contentType: string;
  ts: number;
  bytes: number;
  snapshotId: number;
}

/** The outcome recorded for a command: as the gateway reported it, or as the cloud had to correct it. */
export interface RecordedOutcome {
  status: CommandResult['status'];
  detail: string | null;
  result: Record<string, unknown> | null;
}

/**
 * A successful `snapshot` result: the picture goes to camera_snapshots, in the transaction that records
 * the result, and the command keeps a summary of it. A picture that does not match the contract is
 * not stored, and the command counts as failed, saying why.
 */
export async function keepSnapshot(
  tx: SqlExecutor,
  snapshots: CameraSnapshotStore,
  command: { site: string; device: string | null; issuedBy: string },
  result: CommandResult,
): Promise<RecordedOutcome> {
  const parsed = snapshotResultDataSchema.safeParse(result.data);
  if (!parsed.success || command.device === null) {
    const why = parsed.success ? 'the command names no camera' : formatIssues(parsed.error.issues).join('; ');
    return { status: 'failed', detail: `the gateway reported a picture that cannot be kept: ${why}`, result: null };
  }
  const data = Buffer.from(parsed.data.dataBase64, 'base64');
  const snapshotId = await snapshots.insert(tx, {
    site: command.site,
    device: command.device,
    contentType: parsed.data.contentType,
    takenAt: parsed.data.ts,
    requestedBy: command.issuedBy,
    data,
  });
  const summary: SnapshotResultSummary = { contentType: parsed.data.contentType, ts: parsed.data.ts, bytes: data.length, snapshotId };
  return { status: result.status, detail: result.detail ?? null, result: { ...summary } };
}
