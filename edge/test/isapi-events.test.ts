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

type XmlFields = { [name: string]: string | number | XmlFields };
const xmlElements = (fields: XmlFields): string =>
  Object.entries(fields)
    .map(([name, value]) => `<${name}>${typeof value === 'object' ? xmlElements(value) : String(value)}</${name}>`)
    .join('\n');
/** An alert as panels that speak XML write it: one element per field of the JSON form. */
const xmlAlert = (fields: XmlFields, namespace = 'http://www.hikvision.com/ver20/XMLSchema') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" xmlns="${namespace}">\n${xmlElements(fields)}\n</EventNotificationAlert>\n`;
const xmlPart = (fields: XmlFields, type = 'application/xml; charset="UTF-8"') => part(xmlAlert(fields), type);
/** The ACS_ALERT with its AccessControllerEvent fields replaced (undefined drops one). */
const acsXml = (ace: Record<string, string | number | undefined>): XmlFields => {
  const merged = { ...ACS_ALERT.AccessControllerEvent, ...ace } as Record<string, string | number | undefined>;
  const kept = Object.fromEntries(Object.entries(merged).filter((kv): kv is [string, string | number] => kv[1] !== undefined));
  return { ...ACS_ALERT, AccessControllerEvent: kept };
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

describe('alert stream parts in XML', () => {
  const RECORD = { serialNo: 1234, major: 5, minor: 1, time: '2026-11-26T10:00:00+08:00', cardNo: '3180545640', doorNo: 1, cardReaderNo: 1, verifyMode: 'card' };

  it('decodes an XML AccessControllerEvent into the same record as its JSON form', () => {
    const xml = decodeAlertPart(xmlPart(ACS_ALERT));
    expect(xml).toEqual({ kind: 'access', record: RECORD });
    expect(xml).toEqual(decodeAlertPart(part(JSON.stringify(ACS_ALERT))));
    // Whichever namespace the firmware writes, with or without a prefix, with or without a content type.
    expect(decodeAlertPart(part(xmlAlert(ACS_ALERT, 'http://www.isapi.org/ver20/XMLSchema'), 'application/xml'))).toEqual(xml);
    const prefixed = `<hik:EventNotificationAlert xmlns:hik="http://www.hikvision.com/ver20/XMLSchema">${xmlElements(ACS_ALERT).replace(/<(\/?)([A-Za-z]+)>/g, '<$1hik:$2>')}</hik:EventNotificationAlert>`;
    expect(decodeAlertPart(part(prefixed, 'text/xml'))).toEqual(xml);
    expect(decodeAlertPart({ kind: 'part', headers: {}, body: Buffer.from(`\r\n ${xmlAlert(ACS_ALERT)}`) })).toEqual(xml);
  });

  it('reads the optional fields as JSON does: absent, an empty card number, a large serial number', () => {
    const bare = acsXml({ cardNo: undefined, cardType: undefined, cardReaderNo: undefined, doorNo: undefined, currentVerifyMode: undefined });
    expect(decodeAlertPart(xmlPart(bare))).toEqual({ kind: 'access', record: { serialNo: 1234, major: 5, minor: 1, time: '2026-11-26T10:00:00+08:00' } });
    expect(decodeAlertPart(xmlPart(acsXml({ cardNo: '' })))).toEqual({ kind: 'access', record: { ...RECORD, cardNo: undefined } });
    expect(decodeAlertPart(xmlPart(acsXml({ serialNo: Number.MAX_SAFE_INTEGER })))).toMatchObject({ record: { serialNo: Number.MAX_SAFE_INTEGER } });
    // A card number that looks like a number stays text: its leading zeros are part of it.
    expect(decodeAlertPart(xmlPart(acsXml({ cardNo: '0001234567' })))).toMatchObject({ record: { cardNo: '0001234567' } });
  });

  it('keeps recognising XML heartbeats and other events', () => {
    expect(decodeAlertPart(xmlPart({ ipAddress: '192.168.1.64', dateTime: '2026-11-26T10:00:00+08:00', activePostCount: 0, eventType: 'videoloss', eventState: 'inactive', eventDescription: 'videoloss alarm' }))).toEqual({ kind: 'heartbeat' });
    expect(decodeAlertPart(xmlPart({ eventType: 'VMD', eventState: 'active', channelID: 1 }))).toEqual({ kind: 'other', eventType: 'VMD' });
    // A videoloss that is active is a camera's alarm, not a keepalive.
    expect(decodeAlertPart(xmlPart({ eventType: 'videoloss', eventState: 'active' }))).toEqual({ kind: 'other', eventType: 'videoloss' });
  });

  it('refuses counts that are not plain decimal numbers, naming the field', () => {
    for (const bad of ['0x4d2', '-1', '1.5', '1e3', '', ' 12 34', '9007199254740993']) {
      const err = decodeError(() => decodeAlertPart(xmlPart(acsXml({ serialNo: bad }))));
      expect(err, bad).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('serialNo') });
      expect(err.message).toContain('AccessControllerEvent (XML) not understood');
    }
    expect(decodeError(() => decodeAlertPart(xmlPart(acsXml({ subEventType: 'x1' }))))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('subEventType: not a decimal number') });
    expect(decodeError(() => decodeAlertPart(xmlPart(acsXml({ doorNo: 'one' }))))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('doorNo') });
    expect(decodeError(() => decodeAlertPart(xmlPart(acsXml({ serialNo: undefined }))))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('serialNo') });
    expect(decodeError(() => decodeAlertPart(xmlPart(acsXml({ majorEventType: undefined }))))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('majorEventType') });
    // Entities are never expanded: a character reference is no digit.
    expect(decodeError(() => decodeAlertPart(xmlPart(acsXml({ serialNo: '&#49;2' }))))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('serialNo') });
  });

  it('refuses an XML event whose shape is not one, naming what is wrong', () => {
    const repeated = xmlAlert(ACS_ALERT).replace('<serialNo>1234</serialNo>', '<serialNo>1234</serialNo><serialNo>1235</serialNo>');
    expect(decodeError(() => decodeAlertPart(part(repeated, 'application/xml')))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('serialNo') });
    const attributed = xmlAlert(ACS_ALERT).replace('<serialNo>1234</serialNo>', '<serialNo base="16">4d2</serialNo>');
    expect(decodeError(() => decodeAlertPart(part(attributed, 'application/xml')))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('serialNo') });
    const twoEvents = xmlAlert(ACS_ALERT).replace('</EventNotificationAlert>', `<AccessControllerEvent>${xmlElements(ACS_ALERT.AccessControllerEvent)}</AccessControllerEvent></EventNotificationAlert>`);
    expect(decodeError(() => decodeAlertPart(part(twoEvents, 'application/xml')))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('AccessControllerEvent') });
    expect(decodeError(() => decodeAlertPart(xmlPart({ ...ACS_ALERT, AccessControllerEvent: '5' })))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('AccessControllerEvent') });
    expect(decodeError(() => decodeAlertPart(xmlPart({ eventState: 'active', AccessControllerEvent: ACS_ALERT.AccessControllerEvent })))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('eventType') });
    expect(decodeError(() => decodeAlertPart(part('<EventNotificationAlert/>', 'application/xml')))).toMatchObject({ reason: 'bad_event', message: expect.stringContaining('EventNotificationAlert') });
    expect(decodeError(() => decodeAlertPart(part('<EventNotificationAlert>text</EventNotificationAlert>', 'application/xml')))).toMatchObject({ reason: 'bad_event' });
  });

  it('refuses malformed XML and any DOCTYPE, with the reason and where', () => {
    const whole = xmlAlert(ACS_ALERT);
    const truncated = decodeError(() => decodeAlertPart(part(whole.slice(0, Math.floor(whole.length / 2)), 'application/xml')));
    expect(truncated).toMatchObject({ reason: 'xml_malformed', message: expect.stringMatching(/^alert stream part: malformed XML/) });
    const mismatched = decodeError(() => decodeAlertPart(part(whole.replace('</cardNo>', '</cardNumber>'), 'application/xml')));
    expect(mismatched).toMatchObject({ reason: 'xml_malformed', message: expect.stringMatching(/malformed XML at line \d+, column \d+/) });
    expect(decodeError(() => decodeAlertPart(part(whole.replace('<cardNo>', '<cardNo><![CDATA[31'), 'application/xml')))).toMatchObject({ reason: 'xml_malformed' });
    expect(decodeError(() => decodeAlertPart(part('<EventNotificationAlert><eventType>AccessControllerEvent</eventType><AccessControllerEvent><majorEventType>5</majorEventType><subEv', 'application/xml')))).toMatchObject({ reason: 'xml_malformed' });
    const xxe = `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY card SYSTEM "file:///etc/passwd">]>${whole.slice(whole.indexOf('<EventNotificationAlert')).replace('3180545640', '&card;')}`;
    expect(decodeError(() => decodeAlertPart(part(xxe, 'application/xml')))).toMatchObject({ reason: 'xml_doctype', message: expect.stringContaining('document type declaration is refused') });
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
    // The same code arriving as an XML part on the stream.
    const decoded = decodeAlertPart(xmlPart(acsXml({ majorEventType: major, subEventType: minor, doorNo: 1, cardReaderNo: 2 })));
    if (decoded.kind !== 'access') throw new Error(`not an access event: ${decoded.kind}`);
    expect(normaliseAcsRecord(decoded.record)).toEqual({ event: expected });
  });

  it('every code with a meaning reads the same from XML as from JSON', () => {
    const codes = [...Array.from({ length: 0x100 }, (_, m) => [5, m] as const), ...Array.from({ length: 0x100 }, (_, m) => [1, 0x400 + m] as const), [3, 0x400] as const].filter(
      ([major, minor]) => acsMeaning(major, minor).kind !== 'unknown',
    );
    expect(codes.length).toBeGreaterThanOrEqual(33);
    for (const [major, minor] of codes) {
      const fields = { majorEventType: major, subEventType: minor, serialNo: 40_000 + minor };
      const fromXml = decodeAlertPart(xmlPart(acsXml(fields)));
      const fromJson = decodeAlertPart(part(JSON.stringify({ ...ACS_ALERT, AccessControllerEvent: { ...ACS_ALERT.AccessControllerEvent, ...fields } })));
      expect(fromXml, `major ${major} minor 0x${minor.toString(16)}`).toEqual(fromJson);
      if (fromXml.kind !== 'access') throw new Error(`not an access event: ${fromXml.kind}`);
      const normalised = normaliseAcsRecord(fromXml.record);
      expect(normalised).toEqual(normaliseAcsRecord(rec(major, minor, { serialNo: 40_000 + minor, doorNo: 1, cardReaderNo: 1, cardNo: '3180545640', verifyMode: 'card', time: ACS_ALERT.dateTime })));
      expect(JSON.stringify(normalised)).not.toContain('3180545640');
    }
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
