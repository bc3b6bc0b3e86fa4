import { describe, expect, it } from 'vitest';
import { MultipartReader, type MultipartItem } from '../src/http/multipart-reader.js';
import { decodeAcsEventPage, decodeAlertPart, IsapiDecodeError } from '../src/drivers/isapi/acs-event-decoding.js';
import { normaliseAcsRecord } from '../src/drivers/isapi/acs-event-mapping.js';

const B = 'MIME_boundary';
const DELIMITER = `--${B}`;

/** Deterministic, so a failure can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const event = (serialNo: number, minor: number) =>
  JSON.stringify({ ipAddress: '10.0.0.2', dateTime: '2026-11-26T10:00:00+08:00', eventType: 'AccessControllerEvent', eventState: 'active', AccessControllerEvent: { majorEventType: 5, subEventType: minor, cardNo: '3180545640', doorNo: 1, serialNo } });
/** The same event as the XML EventNotificationAlert older firmware and many controllers send. */
const xmlEvent = (serialNo: number, minor: number) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n<ipAddress>10.0.0.2</ipAddress>\n` +
  `<dateTime>2026-11-26T10:00:00+08:00</dateTime>\n<activePostCount>1</activePostCount>\n<eventType>AccessControllerEvent</eventType>\n<eventState>active</eventState>\n` +
  `<AccessControllerEvent>\n<majorEventType>5</majorEventType>\n<subEventType>${minor}</subEventType>\n<cardNo>3180545640</cardNo>\n<doorNo>1</doorNo>\n<serialNo>${serialNo}</serialNo>\n</AccessControllerEvent>\n</EventNotificationAlert>\n`;
const sizedPart = (body: string, type = 'application/json; charset="UTF-8"') => `${DELIMITER}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}\r\n`;
const XML_TYPE = 'application/xml; charset="UTF-8"';
const heartbeat = `${DELIMITER}\r\nContent-Type: application/xml\r\n\r\n<EventNotificationAlert><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert>\r\n`;
const ALPHABET = ['-', '-', '\r', '\n', '\r\n', 'M', 'I', 'MIME_', 'boundary', 'Content-Length: ', '9', ':', '{', '"', ' ', '\u0000', '\u00ff', 'x', '--MIME_bound', '\r\n\r\n', '<', '</', '>', '<!DOCTYPE', '&#'];

function garbage(rand: () => number): string {
  let g = '';
  const n = Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) g += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  // Garbage that happened to spell the boundary would be a part, not garbage.
  return g.includes(DELIMITER) ? g.replaceAll(DELIMITER, '') : g;
}

function feed(reader: MultipartReader, bytes: Buffer, rand: () => number): MultipartItem[] {
  const out: MultipartItem[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = 1 + Math.floor(rand() * 64);
    out.push(...reader.push(bytes.subarray(at, at + size)));
    at += size;
  }
  return out;
}

/** Decodes a part the way the driver does; anything but a refusal naming its reason is a failure. */
function decode(item: MultipartItem): number | undefined {
  if (item.kind === 'error') {
    expect(item.detail.length).toBeGreaterThan(0);
    return undefined;
  }
  try {
    const part = decodeAlertPart(item);
    if (part.kind !== 'access') return undefined;
    normaliseAcsRecord(part.record);
    return part.record.serialNo;
  } catch (err) {
    if (err instanceof IsapiDecodeError) return undefined;
    throw err;
  }
}

describe('ISAPI input fuzz', () => {
  it('valid JSON and XML parts among random garbage, split at random: every event comes out, in order (50,000 streams)', () => {
    const rand = prng(0x15a1);
    let slowest = 0;
    for (let round = 0; round < 50_000; round++) {
      const started = performance.now();
      const serials: number[] = [];
      let stream = garbage(rand);
      const parts = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < parts; i++) {
        if (rand() < 0.3) stream += heartbeat;
        const serialNo = round * 10 + i;
        serials.push(serialNo);
        const minor = [1, 6, 0x1b, 0x1c, 0x99][Math.floor(rand() * 5)]!;
        stream += rand() < 0.5 ? sizedPart(event(serialNo, minor)) : sizedPart(xmlEvent(serialNo, minor), XML_TYPE);
        stream += garbage(rand);
      }
      const reader = new MultipartReader(B, { maxPartBytes: 4096, maxHeaderBytes: 512 });
      const items = [...feed(reader, Buffer.from(stream, 'latin1'), rand), ...reader.end()];
      const got = items.map(decode).filter((s): s is number => s !== undefined);
      if (got.join() !== serials.join()) expect({ round, stream, got }).toEqual({ round, stream, got: serials });
      slowest = Math.max(slowest, performance.now() - started);
    }
    expect(slowest).toBeLessThan(250);
  });

  it('mutated JSON and XML streams and search answers: no crash, no hang, refusals named (50,000 inputs)', () => {
    const rand = prng(0xacce55);
    const template = Buffer.from(
      sizedPart(event(1, 1)) +
        heartbeat +
        `${DELIMITER}\r\nContent-Type: application/json\r\n\r\n${event(2, 0x1b)}\r\n` +
        sizedPart(event(3, 6)) +
        `${DELIMITER}\r\nContent-Type: application/xml\r\n\r\n${xmlEvent(4, 1)}\r\n` +
        sizedPart(xmlEvent(5, 0x1c), XML_TYPE),
      'latin1',
    );
    // The template itself must come out whole, or mutating it would prove nothing.
    const clean = new MultipartReader(B, { maxPartBytes: 4096, maxHeaderBytes: 512 });
    expect([...clean.push(template), ...clean.end()].map(decode).filter((n) => n !== undefined)).toEqual([1, 2, 3, 4, 5]);
    const xmlTemplate = xmlEvent(6, 0x1b);
    const searchTemplate = JSON.stringify({ AcsEvent: { searchID: 'a', responseStatusStrg: 'MORE', numOfMatches: 1, totalMatches: 2, InfoList: [{ major: 5, minor: 1, time: '2026-11-26T10:00:00+08:00', cardNo: '1234', doorNo: 1, serialNo: 4 }] } });
    let slowest = 0;
    for (let round = 0; round < 50_000; round++) {
      const started = performance.now();
      const bytes = Buffer.from(template);
      const mutations = 1 + Math.floor(rand() * 8);
      let mutated: Buffer = bytes;
      for (let m = 0; m < mutations; m++) {
        const at = Math.floor(rand() * mutated.length);
        const op = rand();
        if (op < 0.5) mutated[at] = Math.floor(rand() * 256);
        else if (op < 0.75) mutated = Buffer.concat([mutated.subarray(0, at), mutated.subarray(at + 1 + Math.floor(rand() * 20))]);
        else mutated = Buffer.concat([mutated.subarray(0, at), Buffer.from(garbage(rand), 'latin1'), mutated.subarray(at)]);
      }
      const reader = new MultipartReader(B, { maxPartBytes: 4096, maxHeaderBytes: 512 });
      for (const item of [...feed(reader, mutated, rand), ...reader.end()]) decode(item);
      // An XML part whose body is mutated where the multipart framing cannot catch it: only the XML
      // parser and the event checks stand between it and the driver.
      const xmlText = xmlTemplate.slice(0, Math.floor(rand() * xmlTemplate.length)) + garbage(rand) + xmlTemplate.slice(Math.floor(rand() * xmlTemplate.length));
      decode({ kind: 'part', headers: { 'content-type': XML_TYPE }, body: Buffer.from(xmlText, 'latin1') });
      // The same bytes as an AcsEvent answer: a string of the template with a mutation.
      const text = searchTemplate.slice(0, Math.floor(rand() * searchTemplate.length)) + garbage(rand) + searchTemplate.slice(Math.floor(rand() * searchTemplate.length));
      try {
        const page = decodeAcsEventPage(JSON.parse(text));
        for (const r of page.records) normaliseAcsRecord(r);
      } catch (err) {
        if (!(err instanceof SyntaxError) && !(err instanceof IsapiDecodeError)) throw err;
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    expect(slowest).toBeLessThan(250);
  });
});
