import type { DeviceDriver } from '../driver.js';

/** What a guard (or a schedule) can ask of a door. */
export type DoorAction = 'open' | 'close';

export interface DoorCommand {
  /** the door on the device: 'door' for a single-door OSDP reader, the door number ('1', '2', …) on a panel */
  door: string;
  action: DoorAction;
  /** for 'open': how long the strike stays released; the device's own unlock time when absent */
  durationMs?: number;
}

export interface DoorCommandOutcome {
  /** true when the device confirmed it did what was asked */
  ok: boolean;
  /** what happened, in words a guard understands ("door 1 unlocked for 5 s", "panel answered 403") */
  detail: string;
  /** the door's state as the device reported it after the command, when it can tell */
  doorState?: 'locked' | 'unlocked' | 'open' | 'closed' | 'unknown';
}

/**
 * A device that controls doors: an OSDP reader with its door I/O, or an access-control panel (ISAPI).
 * Like every driver it connects on start() and supervises the device itself (device_offline /
 * device_online events when it stops or starts answering); it streams normalised events to the sink
 * of its DriverContext (access granted / denied, door forced / held open / opened / closed, exit
 * button, tamper, duress), credentials masked; and it executes door commands.
 */
export interface AccessControlDriver extends DeviceDriver {
  readonly role: 'access';
  /** the doors this device controls, as named in DoorCommand.door */
  doors(): string[];
  /** executes one command; resolves with the device's answer, never throws for a device refusal */
  executeDoorCommand(command: DoorCommand): Promise<DoorCommandOutcome>;
}

export function isAccessControlDriver(driver: DeviceDriver): driver is AccessControlDriver {
  return (driver as Partial<AccessControlDriver>).role === 'access';
}
