import { describe, expect, it } from 'vitest';
import { boundaryFromContentType, MultipartReader, type MultipartItem } from '../src/http/multipart-reader.js';

const B = 'MIME_boundary';
const json = (serialNo: number) => `{"eventType":"AccessControllerEvent","AccessControllerEvent":{"majorEventType":5,"subEventType":1,"serialNo":${serialNo}}}`;
const sized = (body: string, type = 'application/json; charset="UTF-8"') => `--${B}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}\r\n`;
const delimited = (body: string) => `--${B}\r\nContent-Type: application/xml\r\n\r\n${body}\r\n`;

function readAll(input: Buffer | string, chunkSizes?: number[]): MultipartItem[] {
  const reader = new MultipartReader(B, { maxPartBytes: 1024, maxHeaderBytes: 256 });
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8');
  const out: MultipartItem[] = [];
  if (!chunkSizes) out.push(...reader.push(bytes));
  else {
    let at = 0;
    for (const size of chunkSizes) {
      out.push(...reader.push(bytes.subarray(at, at + size)));
      at += size;
    }
    out.push(...reader.push(bytes.subarray(at)));
  }
  return out;
}

const bodies = (items: MultipartItem[]) => items.map((i) => (i.kind === 'part' ? i.body.toString() : `error:${i.reason}`));

describe('boundaryFromContentType', () => {
  it('reads plain and quoted boundaries and refuses what is not multipart', () => {
    expect(boundaryFromContentType('multipart/mixed; boundary=MIME_boundary')).toBe('MIME_boundary');
    expect(boundaryFromContentType('multipart/mixed;boundary="a b:c"')).toBe('a b:c');
    expect(boundaryFromContentType('Multipart/Mixed; charset=utf-8; Boundary=xyz')).toBe('xyz');
    expect(boundaryFromContentType('application/json; boundary=x')).toBeUndefined();
    expect(boundaryFromContentType('multipart/mixed')).toBeUndefined();
    expect(boundaryFromContentType(null)).toBeUndefined();
  });
});

describe('MultipartReader', () => {
  it('reads parts with Content-Length and parts delimited by the next boundary, with their headers', () => {
    const items = readAll(sized(json(1)) + delimited('<a>1</a>') + sized(json(2)));
    expect(bodies(items)).toEqual([json(1), '<a>1</a>', json(2)]);
    expect(items[0]).toMatchObject({ kind: 'part', headers: { 'content-type': 'application/json; charset="UTF-8"', 'content-length': String(json(1).length) } });
  });

  it('keeps a body that contains line breaks and dashes', () => {
    const body = 'line\r\n--not-the-boundary\r\n\r\n--MIME\r\n';
    expect(bodies(readAll(sized(body) + sized('x')))).toEqual([body, 'x']);
  });

  it('gives exactly the same items whatever byte the stream is split at', () => {
    const stream = `${sized(json(1))}junk between parts\r\n${delimited('<x/>')}${sized(json(2))}--${B}\r\nBroken header line\r\n\r\nbody\r\n${sized(json(3))}--${B}\r\nContent-Length: 999999\r\n\r\n${'z'.repeat(50)}\r\n${sized(json(4))}`;
    const whole = readAll(stream);
    expect(bodies(whole)).toEqual([json(1), 'error:garbage', '<x/>', json(2), 'error:bad_headers', json(3), 'error:part_too_large', json(4)]);
    for (let split = 0; split <= stream.length; split++) {
      expect(readAll(stream, [split]), `split at ${split}`).toEqual(whole);
    }
    // And byte by byte.
    expect(readAll(stream, Array.from({ length: stream.length }, () => 1))).toEqual(whole);
  });

  it('resynchronises at the next boundary after garbage and reports it once, with a sample', () => {
    const items = readAll(`\u0000\u00ffnot mime at all\r\n--MIME_bound\r\n${sized(json(7))}`);
    expect(bodies(items)).toEqual(['error:garbage', json(7)]);
    expect((items[0] as { detail: string }).detail).toMatch(/^\d+ bytes outside any part skipped \(starting "/);
  });

  it('refuses a part whose Content-Length runs over the next boundary, and keeps the part after it', () => {
    const lying = `--${B}\r\nContent-Length: 500\r\n\r\n{"short":1}\r\n`;
    expect(bodies(readAll(lying + sized(json(8))))).toEqual(['error:length_mismatch', json(8)]);
  });

  it('refuses a Content-Length that is no number', () => {
    expect(bodies(readAll(`--${B}\r\nContent-Length: -5\r\n\r\nabc\r\n${sized(json(9))}`))).toEqual(['error:bad_content_length', json(9)]);
  });

  it('bounds header blocks and delimited parts', () => {
    const hugeHeaders = `--${B}\r\nX-Long: ${'h'.repeat(400)}\r\n\r\nbody\r\n`;
    expect(bodies(readAll(hugeHeaders + sized(json(1))))).toEqual(['error:headers_too_large', json(1)]);
    const hugeBody = `--${B}\r\nContent-Type: text/plain\r\n\r\n${'b'.repeat(3000)}\r\n`;
    expect(bodies(readAll(hugeBody + sized(json(2))))).toEqual(['error:part_too_large', json(2)]);
  });

  it('skips an oversized sized part without holding it in memory', () => {
    const reader = new MultipartReader(B, { maxPartBytes: 1024 });
    const items = [...reader.push(Buffer.from(`--${B}\r\nContent-Length: 100000\r\n\r\n`))];
    for (let i = 0; i < 100; i++) items.push(...reader.push(Buffer.alloc(1000, 0x41)));
    items.push(...reader.push(Buffer.from(`\r\n${sized(json(3))}`)));
    expect(bodies(items)).toEqual(['error:part_too_large', json(3)]);
  });

  it('takes the closing delimiter and parts after it, and reports a stream ending inside a part', () => {
    const reader = new MultipartReader(B);
    expect(bodies(reader.push(Buffer.from(`${sized('a')}--${B}--\r\n${sized('b')}--${B}\r\nContent-Length: 10\r\n\r\nabc`)))).toEqual(['a', 'b']);
    expect(bodies(reader.end())).toEqual(['error:truncated']);
  });

  it('accepts bare LF line breaks as some firmware writes them', () => {
    expect(bodies(readAll(`--${B}\nContent-Type: text/plain\nContent-Length: 2\n\nok\n--${B}\n\nno headers\n--${B}--`))).toEqual(['ok', 'no headers']);
  });
});
