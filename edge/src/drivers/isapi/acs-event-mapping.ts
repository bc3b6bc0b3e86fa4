import type { EventType } from '@gatehouse/contracts';
import type { AcsRecord } from './acs-event-decoding.js';

/**
 * What an access-control log code means to the gateway. Codes are Hikvision's NET_DVR_ACS_ALARM_INFO
 * major/minor types (the same numbers in AcsEvent searches and on the alert stream): major 1 alarm,
 * 2 exception, 3 operation, 5 event.
 */
export type AcsMeaning =
  | { kind: 'event'; type: EventType; reason?: string }
  /** a known code that is no security event (lock relay state, remote operations, alarm cleared) */
  | { kind: 'state'; what: string }
  | { kind: 'unknown' };

const MAJOR_ALARM = 0x1;
const MAJOR_OPERATION = 0x3;
const MAJOR_EVENT = 0x5;

const ev = (type: EventType, reason?: string): AcsMeaning => ({ kind: 'event', type, ...(reason ? { reason } : {}) });
const state = (what: string): AcsMeaning => ({ kind: 'state', what });

const EVENTS: ReadonlyMap<number, AcsMeaning> = new Map([
  [0x01, ev('access_granted')], // valid card
  [0x02, ev('access_granted')], // card and password
  [0x10, ev('access_granted')], // multi-factor verification passed
  [0x26, ev('access_granted')], // fingerprint matched
  [0x4b, ev('access_granted')], // face matched
  [0x03, ev('access_denied', 'card and password check failed')],
  [0x04, ev('access_denied', 'card and password timed out')],
  [0x05, ev('access_denied', 'too many card and password attempts')],
  [0x06, ev('access_denied', 'no permission at this door')],
  [0x07, ev('access_denied', 'outside the card schedule')],
  [0x08, ev('access_denied', 'card expired')],
  [0x09, ev('access_denied', 'card not enrolled')],
  [0x0a, ev('access_denied', 'anti-passback')],
  [0x0b, ev('access_denied', 'interlocked door not closed')],
  [0x27, ev('access_denied', 'fingerprint not matched')],
  [0x4c, ev('access_denied', 'face not matched')],
  [0x13, state('always-open period began')],
  [0x14, state('always-open period ended')],
  [0x15, state('door unlocked')],
  [0x16, state('door locked')],
  [0x17, ev('exit_button')],
  [0x18, state('exit button released')],
  [0x19, ev('door_opened')],
  [0x1a, ev('door_closed')],
  [0x1b, ev('door_forced_open')],
  [0x1c, ev('door_held_open')],
]);

const ALARMS: ReadonlyMap<number, AcsMeaning> = new Map([
  [0x404, ev('tamper', 'panel enclosure opened')],
  [0x405, state('panel tamper cleared')],
  [0x406, ev('tamper', 'card reader tamper')],
  [0x407, state('card reader tamper cleared')],
  [0x408, ev('tamper', 'case sensor')],
  [0x409, state('case sensor cleared')],
  [0x40a, ev('duress')],
]);

export function acsMeaning(major: number, minor: number): AcsMeaning {
  if (major === MAJOR_EVENT) return EVENTS.get(minor) ?? { kind: 'unknown' };
  if (major === MAJOR_ALARM) return ALARMS.get(minor) ?? { kind: 'unknown' };
  // Operations are what someone did through the panel (remote open from software, configuration):
  // the command that caused them is already recorded where it was given.
  if (major === MAJOR_OPERATION) return state(`operation 0x${minor.toString(16)}`);
  return { kind: 'unknown' };
}

/** Keeps the last four characters of a card number: enough for a guard to tell cards apart, not to clone one. */
export function maskCardNumber(cardNo: string): string {
  return cardNo.length <= 4 ? '****' : `****${cardNo.slice(-4)}`;
}

export interface NormalisedAcsEvent {
  type: EventType;
  point?: string;
  credential?: string;
  reason?: string;
}

/** The normalised event for a record, or the reason it produces none. */
export function normaliseAcsRecord(record: AcsRecord): { event: NormalisedAcsEvent } | { skipped: 'state' | 'unknown'; what: string } {
  const meaning = acsMeaning(record.major, record.minor);
  const code = `major ${record.major} minor 0x${record.minor.toString(16)}`;
  if (meaning.kind === 'unknown') return { skipped: 'unknown', what: code };
  if (meaning.kind === 'state') return { skipped: 'state', what: meaning.what };
  const event: NormalisedAcsEvent = { type: meaning.type };
  if (record.doorNo !== undefined && record.doorNo > 0) event.point = String(record.doorNo);
  if (record.cardNo !== undefined && (meaning.type === 'access_granted' || meaning.type === 'access_denied' || meaning.type === 'duress')) event.credential = maskCardNumber(record.cardNo);
  const reason = meaning.reason && meaning.type === 'tamper' && record.cardReaderNo !== undefined ? `${meaning.reason} (reader ${record.cardReaderNo})` : meaning.reason;
  if (reason) event.reason = reason;
  return { event };
}
