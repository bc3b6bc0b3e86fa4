import type { Attachment, DeviceEvent, EventType } from '@gatehouse/contracts';
import type { Logger } from 'pino';
import type { VideoLinkageConfig } from '../config.js';
import type { CameraDriver } from '../drivers/camera/camera-driver.js';
import type { GatewayMetrics } from '../status/metrics.js';

/**
 * Pictures for door alarms. A linked event (door forced, held open, duress …) goes to the journal at
 * once, as every event does, so that a crash while a camera answers cannot lose it; the snapshots of
 * the cameras watching that door are fetched side by side, and the same event (same id) goes again
 * with them attached, as soon as they are in or the timeout has passed. The cloud stores the event
 * once and adds the pictures to it; a camera that failed is named in the log and the metrics, and the
 * event goes with the pictures that did arrive.
 */
/** As the event contract allows: pictures per event, and base64 characters per picture. */
const MAX_PICTURES = 8;
const MAX_PICTURE_BASE64 = 2_000_000;

export class VideoLinkage {
  private readonly events: ReadonlySet<EventType>;
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly config: VideoLinkageConfig,
    private readonly cameras: ReadonlyMap<string, CameraDriver>,
    private readonly forward: (event: DeviceEvent) => void,
    private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {
    this.events = new Set(config.events);
  }

  /** The sink's event entry: every event of every driver passes here. */
  event(event: DeviceEvent): void {
    this.forward(event);
    if (this.stopped || !this.events.has(event.type) || event.attachments) return;
    const cameras = this.camerasWatching(event);
    if (cameras.length === 0) return;
    const work = this.attachSnapshots(event, cameras).finally(() => this.pending.delete(work));
    this.pending.add(work);
  }

  /** Waits for the snapshots in flight (at most the snapshot timeout) and takes no new ones: before the journal closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.pending]);
  }

  /** The cameras linked to the event's door. */
  private camerasWatching(event: DeviceEvent): CameraDriver[] {
    const ids = new Set<string>();
    for (const link of this.config.links) {
      if (link.device !== event.device) continue;
      if (link.door !== undefined && link.door !== event.point) continue;
      for (const camera of link.cameras) ids.add(camera);
    }
    return [...ids]
      .map((id) => this.cameras.get(id))
      .filter((c): c is CameraDriver => c !== undefined)
      .slice(0, MAX_PICTURES);
  }

  private async attachSnapshots(event: DeviceEvent, cameras: CameraDriver[]): Promise<void> {
    const timeoutMs = this.config.snapshotTimeoutMs;
    const pictures = await Promise.all(
      cameras.map(async (camera): Promise<Attachment | undefined> => {
        const started = performance.now();
        try {
          const snapshot = await withTimeout(camera.snapshot(timeoutMs), timeoutMs, `no snapshot within ${timeoutMs} ms`);
          this.metrics.snapshotSeconds.observe({ camera: camera.descriptor.id }, (performance.now() - started) / 1000);
          const dataBase64 = snapshot.data.toString('base64');
          // A picture the cloud would refuse would take the whole batch of events down with it.
          if (dataBase64.length > MAX_PICTURE_BASE64) throw new Error(`snapshot of ${snapshot.data.length} bytes is larger than an event may carry`);
          return { camera: camera.descriptor.id, contentType: snapshot.contentType, ts: snapshot.ts, dataBase64 };
        } catch (err) {
          this.metrics.snapshotFailures.inc({ camera: camera.descriptor.id });
          this.logger.warn({ camera: camera.descriptor.id, device: event.device, event: event.type, eventId: event.id, err: (err as Error).message }, 'no snapshot for a door alarm');
          return undefined;
        }
      }),
    );
    const attachments = pictures.filter((p): p is Attachment => p !== undefined);
    if (attachments.length === 0) return;
    try {
      this.forward({ ...event, attachments });
    } catch (err) {
      // The event itself is in the journal already; only its pictures are lost.
      this.logger.error({ device: event.device, eventId: event.id, err: (err as Error).message }, 'cannot journal the pictures of a door alarm');
    }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
