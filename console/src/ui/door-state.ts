import type { Camera, DeviceEvent, Door } from '../shell/api-types';

/** Whether an event is about this door: same device, and same point when both name one. */
export function eventIsAtDoor(door: Door, event: DeviceEvent): boolean {
  return door.device === event.device && (door.point === null || event.point === null || door.point === event.point);
}

const OPENS = new Set(['door_opened', 'door_forced_open', 'door_held_open']);

/** The door as it is after the event (the same object when the event says nothing new about it). */
export function doorAfterEvent(door: Door, event: DeviceEvent): Door {
  if (!eventIsAtDoor(door, event)) return door;
  if (door.lastEvent && door.lastEvent.ts > event.ts) return door;
  const doorState = OPENS.has(event.type) ? 'open' : event.type === 'door_closed' ? 'closed' : door.doorState;
  const online = event.type === 'device_offline' ? false : event.type === 'device_online' ? true : door.online;
  return { ...door, lastEvent: event, doorState, online };
}

export function cameraAfterEvent(camera: Camera, event: DeviceEvent): Camera {
  if (camera.device !== event.device) return camera;
  if (event.type === 'device_offline') return { ...camera, online: false };
  if (event.type === 'device_online') return { ...camera, online: true };
  return camera;
}

/** A panel's door number worth showing; a single-door reader's one door ('door') goes without saying. */
export function shownPoint(point: string | null | undefined): string | null {
  return point && point !== 'door' ? point : null;
}
