import { describe, expect, it } from 'vitest';
import { acsMeaning, decodeAcsEventPage, decodeAlertPart, IsapiDecodeError, maskCardNumber, normaliseAcsRecord, type AcsRecord } from '../src/index.js';
import type { MultipartPart } from '../src/http/multipart-reader.js';

const part = (body: string, type = 'application/json; charset="UTF-8"'): MultipartPart => ({ kind: 'part', headers: { 'content-type': type }, body: Buffer.from(body) });

const ACS_ALERT = {
  ipAddress: '192.168.1.64',
  portNo: 80,
  protocol: 'HTTP',
  dateTime: '2026-11-26T10:00:00+08:00',
  activePostCount: 1,
  eventType: 'AccessControllerEvent',
  eventState: 'active',
  eventDescription: 'Access Controller Event',
  AccessControllerEvent: { deviceName: 'Gate', majorEventType: 5, subEventType: 1, cardNo: '3180545640', cardType: 1, cardReaderNo: 1, doorNo: 1, serialNo: 1234, currentVerifyMode: 'card', mask: 'unknown' },
};

const decodeError = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof IsapiDecodeError) return { reason: err.reason, message: err.message };
    throw err;
  }
  throw new Error('expected an IsapiDecodeError');
};

describe('alert stream parts', () => {
  it('decodes an AccessControllerEvent as panels send it', () => {
    expect(decodeAlertPart(part(JSON.stringify(ACS_ALERT)))).toEqual({
      kind: 'access',
      record: { serialNo: 1234, major: 5, minor: 1, time: '2026-11-26T10:00:00+08:00', cardNo: '3180545640', doorNo: 1, cardReaderNo: 1, verifyMode: 'card' },
    });
  });

  it('recognises heartbeats in XML and JSON, other events and pictures', () => {
    const xml = '<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert>';
    expect(decodeAlertPart(part(xml, 'application/xml; charset="UTF-8"'))).toEqual({ kind: 'heartbeat' });
    expect(decodeAlertPart(part('{"eventType":"videoloss","eventState":"inactive","dateTime":"2026-11-26T10:00:00+08:00"}'))).toEqual({ kind: 'heartbeat' });
    expect(decodeAlertPart(part('{"eventType":"VMD","eventState":"active"}'))).toEqual({ kind: 'other', eventType: 'VMD' });
    expect(decodeAlertPart(part('\xff\xd8\xff', 'image/jpeg'))).toEqual({ kind: 'picture' });
  });

  it('names what is wrong with a part it cannot read', () => {
    expect(decodeError(() => decodeAlertPart(part('{"eventType":"AccessControllerEvent","Acc')))).toMatchObject({ reason: 'bad_json', message: expect.stringContaining('not valid JSON') });
    const noSerial = { ...ACS_ALERT, AccessControllerEvent: { ...ACS_ALERT.AccessControllerEvent, serialNo: undefined } };
    expect(decodeError(() => decodeAlertPart(part(JSON.stringify(noSerial))))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('serialNo') });
    expect(decodeError(() => decodeAlertPart(part('[1,2]')))).toMatchObject({ reason: 'bad_event' });
    expect(decodeError(() => decodeAlertPart(part('<!DOCTYPE x [<!ENTITY a "b">]><EventNotificationAlert/>', 'application/xml')))).toMatchObject({ reason: 'xml_doctype' });
    expect(decodeError(() => decodeAlertPart(part('<EventNotificationAlert><eventType>x</eventType>', 'application/xml')))).toMatchObject({ reason: 'xml_malformed' });
    expect(decodeError(() => decodeAlertPart(part('<Other/>', 'application/xml')))).toMatchObject({ reason: 'bad_event' });
  });
});

describe('AcsEvent search answers', () => {
  it('reads a page, and refuses a bad record without losing the good ones', () => {
    const page = decodeAcsEventPage({
      AcsEvent: {
        searchID: 's1',
        responseStatusStrg: 'MORE',
        numOfMatches: 3,
        totalMatches: 40,
        InfoList: [
          { major: 5, minor: 1, time: '2026-11-26T10:00:00+08:00', cardNo: '12345678', doorNo: 1, serialNo: 7, type: 0 },
          { major: 5, minor: 'x', serialNo: 8 },
          { major: 1, minor: 0x406, time: '2026-11-26T10:00:01+08:00', cardReaderNo: 1, serialNo: 9 },
        ],
      },
    });
    expect(page).toEqual({
      status: 'MORE',
      numOfMatches: 3,
      totalMatches: 40,
      records: [
        { serialNo: 7, major: 5, minor: 1, time: '2026-11-26T10:00:00+08:00', cardNo: '12345678', doorNo: 1 },
        { serialNo: 9, major: 1, minor: 0x406, time: '2026-11-26T10:00:01+08:00', cardReaderNo: 1 },
      ],
      refused: [expect.stringContaining('minor')],
    });
    expect(decodeAcsEventPage({ AcsEvent: { responseStatusStrg: 'NO MATCH', numOfMatches: 0, totalMatches: 0 } }).records).toEqual([]);
  });

  it('refuses an answer that is not one', () => {
    expect(decodeError(() => decodeAcsEventPage({ AcsEvent: { responseStatusStrg: 'DONE', numOfMatches: 0, totalMatches: 0 } }))).toMatchObject({ reason: 'bad_search_answer', message: expect.stringContaining('responseStatusStrg') });
    expect(decodeError(() => decodeAcsEventPage(null))).toMatchObject({ reason: 'bad_search_answer' });
  });
});

describe('Hikvision codes to normalised events', () => {
  const rec = (major: number, minor: number, extra: Partial<AcsRecord> = {}): AcsRecord => ({ serialNo: 1, major, minor, time: undefined, ...extra });

  it.each([
    [5, 0x01, { type: 'access_granted', point: '1', credential: '****5640' }],
    [5, 0x4b, { type: 'access_granted', point: '1', credential: '****5640' }],
    [5, 0x06, { type: 'access_denied', point: '1', credential: '****5640', reason: 'no permission at this door' }],
    [5, 0x07, { type: 'access_denied', point: '1', credential: '****5640', reason: 'outside the card schedule' }],
    [5, 0x08, { type: 'access_denied', point: '1', credential: '****5640', reason: 'card expired' }],
    [5, 0x09, { type: 'access_denied', point: '1', credential: '****5640', reason: 'card not enrolled' }],
    [5, 0x17, { type: 'exit_button', point: '1' }],
    [5, 0x19, { type: 'door_opened', point: '1' }],
    [5, 0x1a, { type: 'door_closed', point: '1' }],
    [5, 0x1b, { type: 'door_forced_open', point: '1' }],
    [5, 0x1c, { type: 'door_held_open', point: '1' }],
    [1, 0x404, { type: 'tamper', point: '1', reason: 'panel enclosure opened (reader 2)' }],
    [1, 0x406, { type: 'tamper', point: '1', reason: 'card reader tamper (reader 2)' }],
    [1, 0x40a, { type: 'duress', point: '1', credential: '****5640' }],
  ])('major %i minor %i', (major, minor, expected) => {
    expect(normaliseAcsRecord(rec(major, minor, { doorNo: 1, cardReaderNo: 2, cardNo: '3180545640' }))).toEqual({ event: expected });
  });

  it('forwards no event for lock states, remote operations and cleared alarms, and says which codes it does not know', () => {
    expect(normaliseAcsRecord(rec(5, 0x15))).toEqual({ skipped: 'state', what: 'door unlocked' });
    expect(normaliseAcsRecord(rec(5, 0x16))).toEqual({ skipped: 'state', what: 'door locked' });
    expect(normaliseAcsRecord(rec(3, 0x400))).toEqual({ skipped: 'state', what: 'operation 0x400' });
    expect(normaliseAcsRecord(rec(1, 0x407))).toEqual({ skipped: 'state', what: 'card reader tamper cleared' });
    expect(normaliseAcsRecord(rec(5, 0x99))).toEqual({ skipped: 'unknown', what: 'major 5 minor 0x99' });
    expect(normaliseAcsRecord(rec(2, 0x27))).toEqual({ skipped: 'unknown', what: 'major 2 minor 0x27' });
    expect(acsMeaning(9, 1)).toEqual({ kind: 'unknown' });
  });

  it('never puts a whole card number in an event', () => {
    expect(maskCardNumber('3180545640')).toBe('****5640');
    expect(maskCardNumber('12345')).toBe('****2345');
    expect(maskCardNumber('1234')).toBe('****');
    expect(normaliseAcsRecord(rec(5, 0x1b, { cardNo: '3180545640', doorNo: 2 }))).toEqual({ event: { type: 'door_forced_open', point: '2' } });
  });
});
