import { MAX_SNAPSHOT_BASE64, snapshotCommandArgsSchema, type Command, type CommandResult, type SnapshotResultData } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import { isCameraDriver } from '../drivers/camera/camera-driver.js';
import type { DeviceDriver } from '../drivers/driver.js';

/**
 * How long a camera may take for a picture asked for from the cloud. The cloud waits about 8 s for
 * the answer; a picture that comes later is stored all the same, but the guard has given up on it.
 */
export const SNAPSHOT_COMMAND_TIMEOUT_MS = 5000;

export type CommandOutcome = Pick<CommandResult, 'status' | 'detail' | 'data'>;

/**
 * `snapshot`: a still image from one camera, now, returned in the command result. An unknown device
 * or one that is no camera is refused ('rejected'); a camera that fails or is too slow makes the
 * command 'failed', with the camera's reason. The picture is not journaled: a guard asking for one
 * wants it now, and asks again if it is lost.
 */
export async function executeSnapshotCommand(
  command: Command,
  deps: { device: (id: string) => DeviceDriver | undefined; logger: Logger; now?: () => number },
): Promise<CommandOutcome> {
  const args = snapshotCommandArgsSchema.safeParse(command.args);
  if (!args.success) return { status: 'rejected', detail: `bad arguments: ${args.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ')}` };
  const { device } = args.data;
  const driver = deps.device(device);
  if (!driver) return { status: 'rejected', detail: `no device ${device} on this gateway` };
  if (!isCameraDriver(driver)) return { status: 'rejected', detail: `device ${device} is not a camera (${driver.descriptor.kind})` };
  const now = deps.now ?? Date.now;
  // A picture taken after the command expired would answer nobody.
  const timeoutMs = Math.min(SNAPSHOT_COMMAND_TIMEOUT_MS, command.expiresAt - now());
  if (timeoutMs <= 0) return { status: 'expired', detail: `expired at ${new Date(command.expiresAt).toISOString()}` };
  const started = performance.now();
  try {
    // The driver has a timeout of its own; this one holds even if a driver forgets it.
    const snapshot = await withTimeout(driver.snapshot(timeoutMs), timeoutMs, `no picture from camera ${device} within ${timeoutMs} ms`);
    const dataBase64 = snapshot.data.toString('base64');
    if (dataBase64.length > MAX_SNAPSHOT_BASE64) {
      return { status: 'failed', detail: `the picture from camera ${device} (${snapshot.data.length} bytes) is larger than a command result may carry (${MAX_SNAPSHOT_BASE64} base64 characters)` };
    }
    const ms = Math.round(performance.now() - started);
    deps.logger.info({ device, id: command.id, issuedBy: command.issuedBy, bytes: snapshot.data.length, ms }, 'snapshot taken on request');
    const data: SnapshotResultData = { contentType: snapshot.contentType, ts: snapshot.ts, dataBase64 };
    return { status: 'ok', detail: `${snapshot.data.length} bytes from camera ${device} in ${ms} ms`, data };
  } catch (err) {
    const detail = describeFailure(device, err);
    deps.logger.warn({ device, id: command.id, issuedBy: command.issuedBy, err: detail }, 'snapshot on request failed');
    return { status: 'failed', detail };
  }
}

/** The camera's reason, naming the camera; a bare "fetch failed" says what failed underneath. */
function describeFailure(device: string, err: unknown): string {
  const message = (err as Error).message;
  const cause = (err as { cause?: { message?: unknown; code?: unknown } }).cause;
  const underneath = typeof cause?.message === 'string' && cause.message !== '' ? cause.message : typeof cause?.code === 'string' ? cause.code : undefined;
  const text = underneath && !message.includes(underneath) ? `${message} (${underneath})` : message;
  return text.includes(device) ? text : `snapshot from camera ${device}: ${text}`;
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  // The driver's own rejection, after this timeout won, must not go unhandled.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
