/** The shapes of the HTTP API (/api/v1) as the console reads them. Times are epoch milliseconds. */

export const ROLES = ['admin', 'guard', 'engineer', 'facilities'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  username: string;
  displayName: string | null;
  roles: Role[];
  sites: string[] | '*';
}

export interface SessionInfo {
  user: User;
  csrfToken: string;
}

export interface ManagedUser extends User {
  disabled: boolean;
  lockedUntil: number | null;
  lastLoginAt: number | null;
  createdAt: number;
}

export interface ApiToken {
  id: string;
  name: string;
  username: string;
  roles: Role[];
  sites: string[] | '*';
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface Site {
  id: string;
  name: string | null;
  timeZone: string;
  gateways: number;
  devices: number;
}

export type DeviceKind = 'meter' | 'access_panel' | 'camera';

export interface Device {
  site: string;
  id: string;
  gateway: string;
  kind: DeviceKind;
  driver: string;
  profile: string;
  name: string | null;
  lastSeen: number | null;
  reportedAs: 'online' | 'offline' | null;
}

export const EVENT_TYPES = [
  'access_granted',
  'access_denied',
  'door_forced_open',
  'door_held_open',
  'door_opened',
  'door_closed',
  'exit_button',
  'tamper',
  'duress',
  'motion',
  'device_offline',
  'device_online',
  'device_fault',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface DeviceEvent {
  site: string;
  gateway: string;
  id: string;
  device: string;
  type: EventType;
  ts: number;
  point: string | null;
  credential: string | null;
  reason: string | null;
  attachmentUrls: string[];
}

export interface Door {
  device: string;
  point: string | null;
  name: string | null;
  driver: string;
  online: boolean | null;
  doorState: 'open' | 'closed' | 'unknown';
  lastEvent: DeviceEvent | null;
  cameras: string[];
}

export interface Camera {
  device: string;
  name: string | null;
  online: boolean | null;
  lastSnapshotAt: number | null;
}

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

export const ALARM_STATES = ['new', 'acknowledged', 'cleared', 'closed'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

export const PRIORITIES = [1, 2, 3, 4] as const;
export type Priority = (typeof PRIORITIES)[number];

export const ACK_TYPES = ['genuine', 'false_alarm', 'test'] as const;
export type AckType = (typeof ACK_TYPES)[number];

export interface Alarm {
  id: string;
  site: string;
  /** one of ALARM_TYPES; kept open so that a newer server's types still show */
  type: string;
  priority: Priority;
  state: AlarmState;
  gateway: string | null;
  device: string | null;
  point: string | null;
  detail: string | null;
  occurrences: number;
  firstAt: number;
  lastAt: number;
  raisedAt: number;
  updatedAt: number;
  conditionEndedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  ackType: AckType | null;
  ackNote: string | null;
  clearedAt: number | null;
  clearedBy: string | null;
  closedAt: number | null;
  closedBy: string | null;
  escalationLevel: number;
  eventId: string | null;
  eventGateway: string | null;
  snapshotUrls: string[];
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  site: string | null;
  action: string;
  targetType: string;
  targetId: string;
  fromState: string | null;
  toState: string | null;
  note: string | null;
  details: Record<string, unknown> | null;
}

/** An escalation sent (or being sent) for an alarm: webhook, e-mail, … */
export interface AlarmNotification {
  id: number | string;
  level: number;
  channel: string;
  target: string;
  status: string;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  sentAt: number | null;
}

export interface AlarmDetail extends Alarm {
  history: AuditEntry[];
  notifications: AlarmNotification[];
  recentEvents: DeviceEvent[];
}

export type CommandStatus = 'sent' | 'unanswered' | 'ok' | 'failed' | 'rejected' | 'expired' | 'duplicate';

export interface StoredCommand {
  id: string;
  site: string;
  gateway: string;
  name: string;
  device: string | null;
  issuedBy: string;
  issuedAt: number;
  expiresAt: number;
  status: CommandStatus;
  detail: string | null;
  resultAt: number | null;
}
