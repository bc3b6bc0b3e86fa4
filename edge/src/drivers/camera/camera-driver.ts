import type { DeviceDriver } from '../driver.js';

export interface Snapshot {
  contentType: 'image/jpeg' | 'image/png';
  /** when the camera was asked for it, epoch ms */
  ts: number;
  data: Buffer;
}

/**
 * A camera: it connects on start(), supervises itself (device_offline / device_online events),
 * streams its analytics (motion, tamper) as normalised events to the sink of its DriverContext, and
 * takes snapshots on demand, for the events of the doors it watches.
 */
export interface CameraDriver extends DeviceDriver {
  readonly role: 'camera';
  /** a still image from the camera's main profile, fetched now; rejects after timeoutMs */
  snapshot(timeoutMs: number): Promise<Snapshot>;
}

export function isCameraDriver(driver: DeviceDriver): driver is CameraDriver {
  return (driver as Partial<CameraDriver>).role === 'camera';
}
