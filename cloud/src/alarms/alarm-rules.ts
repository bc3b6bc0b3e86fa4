import type { DeviceEvent, EventType } from '@gatehouse/contracts';
import type { AlarmsConfig } from './alarm-config.js';

export const ALARM_TYPES = [
  'door_forced_open',
  'door_held_open',
  'tamper',
  'duress',
  'device_offline',
  'device_fault',
  'gateway_offline',
  'meter_comm_error',
  'backlog_stale',
  'energy_anomaly',
] as const;
export type AlarmType = (typeof ALARM_TYPES)[number];

export const ALARM_STATES = ['new', 'acknowledged', 'cleared', 'closed'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

export const ACK_TYPES = ['genuine', 'false_alarm', 'test'] as const;
export type AckType = (typeof ACK_TYPES)[number];

/** Event types that raise an alarm of the same name. */
const RAISING_EVENTS = new Set<EventType>(['door_forced_open', 'door_held_open', 'tamper', 'duress', 'device_offline', 'device_fault']);

/** Where an event happened: enough to name the alarm source it raises or ends. */
export interface EventPlace {
  gateway: string;
  device: string;
  point?: string | null;
}

/** The alarm type an event raises, if any. */
export function alarmTypeOf(type: EventType): AlarmType | undefined {
  return RAISING_EVENTS.has(type) ? (type as AlarmType) : undefined;
}

/**
 * Names what raised an alarm: while an alarm of a source is open, further occurrences count on it.
 * Door alarms are per door (device and point); a device offline is per device, whichever gateway says so.
 */
export function sourceKey(type: AlarmType, place: EventPlace): string {
  if (type === 'device_offline') return `device_offline:${place.device}`;
  return `${type}:${place.gateway}:${place.device}:${place.point ?? ''}`;
}

/** Source keys of the alarms raised by health checks rather than events. */
export const healthSourceKey = {
  gatewayOffline: (gateway: string) => `gateway_offline:${gateway}`,
  backlogStale: (gateway: string) => `backlog_stale:${gateway}`,
  meterCommError: (device: string) => `meter_comm_error:${device}`,
  energyAnomaly: (device: string, detector: string) => `energy_anomaly:${device}:${detector}`,
};

/** The alarm an event raises, with its source key; undefined for events that raise none. */
export function alarmRaisedBy(event: Pick<DeviceEvent, 'type' | 'device' | 'point'> & { gateway: string }): { type: AlarmType; sourceKey: string } | undefined {
  const type = alarmTypeOf(event.type);
  return type ? { type, sourceKey: sourceKey(type, event) } : undefined;
}

/**
 * The sources whose condition an event ends: a door closing ends its forced-open and held-open
 * alarms, a device coming back online ends its offline alarm.
 */
export function conditionsEndedBy(event: Pick<DeviceEvent, 'type' | 'device' | 'point'> & { gateway: string }): string[] {
  switch (event.type) {
    case 'door_closed':
      return [sourceKey('door_forced_open', event), sourceKey('door_held_open', event)];
    case 'device_online':
      return [sourceKey('device_offline', event)];
    default:
      return [];
  }
}

/** An alarm type's priority at a site: the site's override, else the configured one. */
export function priorityOf(config: Pick<AlarmsConfig, 'priorities' | 'sitePriorities'>, site: string, type: AlarmType): number {
  return config.sitePriorities[site]?.[type] ?? config.priorities[type];
}

/** What an occurrence does to an open alarm of its source. */
export interface OccurrenceEffect {
  /** the alarm goes back to new (it was cleared, and this occurrence is after its condition ended) */
  reopen: boolean;
  /** the condition is on again (condition_ended_at goes back to null) */
  conditionOn: boolean;
  /** this occurrence is the newest: it becomes the alarm's event and lastAt */
  newest: boolean;
}

/**
 * An occurrence at `ts` of an alarm open in `state`. Events may arrive late (a gateway replaying after
 * an outage): one older than the end of the condition counts, but neither reopens nor restarts it.
 */
export function occurrenceEffect(alarm: { state: AlarmState; lastAt: number; conditionEndedAt: number | null }, ts: number): OccurrenceEffect {
  const afterEnd = alarm.conditionEndedAt === null || ts > alarm.conditionEndedAt;
  return { reopen: alarm.state === 'cleared' && afterEnd, conditionOn: afterEnd, newest: ts >= alarm.lastAt };
}

/**
 * What the end of its condition at `ts` does to an open alarm: an acknowledged alarm is cleared; a new
 * one stays new (a guard must still see it) and goes straight to cleared when acknowledged; a cleared
 * one only records it. Nothing when the condition has already ended, or began again after `ts`.
 */
export function conditionEndEffect(alarm: { state: AlarmState; lastAt: number; conditionEndedAt: number | null }, ts: number): 'clear' | 'record' | 'none' {
  if (alarm.state === 'closed' || alarm.conditionEndedAt !== null || ts < alarm.lastAt) return 'none';
  return alarm.state === 'acknowledged' ? 'clear' : 'record';
}

/** Which transitions a person may make, from which states. */
export const TRANSITIONS = {
  acknowledge: { from: ['new'], to: 'acknowledged' },
  clear: { from: ['acknowledged'], to: 'cleared' },
  close: { from: ['acknowledged', 'cleared'], to: 'closed' },
} as const satisfies Record<string, { from: readonly AlarmState[]; to: AlarmState }>;
export type TransitionName = keyof typeof TRANSITIONS;

/** Why a transition is refused from a state, or undefined when it is allowed. */
export function transitionRefusal(name: TransitionName, state: AlarmState): string | undefined {
  const t = TRANSITIONS[name];
  if ((t.from as readonly AlarmState[]).includes(state)) return undefined;
  if (name === 'clear' && state === 'new') return 'acknowledge it before clearing it';
  return `only ${t.from.join(' or ')} alarms can be ${name === 'acknowledge' ? 'acknowledged' : name === 'clear' ? 'cleared' : 'closed'}`;
}

/**
 * Escalation levels that apply to an alarm of `priority`, in the order they fire: those for this
 * priority or a less urgent one, by delay.
 */
export function escalationLevelsFor<L extends { priority: number; unacknowledgedAfterSeconds: number }>(levels: readonly L[], priority: number): L[] {
  return levels.filter((l) => priority <= l.priority).sort((a, b) => a.unacknowledgedAfterSeconds - b.unacknowledgedAfterSeconds);
}

/** Delay before the next attempt at a notification that failed `attempts` times: 5 s, 10 s, 20 s … capped at 10 min. */
export function retryDelayMs(attempts: number): number {
  return Math.min(600_000, 5000 * 2 ** Math.max(0, attempts - 1));
}

/** Attempts at a notification before it is given up as failed. */
export const MAX_NOTIFICATION_ATTEMPTS = 10;
