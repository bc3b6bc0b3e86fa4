/**
 * An incremental reader for long-lived multipart/mixed responses (RFC 2046), as devices use them to
 * push events (Hikvision's alertStream, Axis and Dahua event streams). The multipart parsers on npm
 * read one finished request body (form uploads); this one takes bytes as they arrive, never ends, and
 * gets back on its feet after garbage, so one bad part cannot cost the events after it.
 */

export type MultipartErrorReason = 'garbage' | 'bad_headers' | 'headers_too_large' | 'bad_content_length' | 'part_too_large' | 'length_mismatch' | 'truncated';

export interface MultipartPart {
  kind: 'part';
  /** header names lower-cased */
  headers: Record<string, string>;
  body: Buffer;
}

export interface MultipartError {
  kind: 'error';
  reason: MultipartErrorReason;
  detail: string;
}

export type MultipartItem = MultipartPart | MultipartError;

export interface MultipartReaderOptions {
  /** largest part body accepted (default 2 MiB: a JPEG snapshot part fits) */
  maxPartBytes?: number;
  /** largest header block of one part (default 8 KiB) */
  maxHeaderBytes?: number;
}

/** The boundary of a multipart Content-Type value, or undefined when it names none or is not multipart. */
export function boundaryFromContentType(contentType: string | null | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;",]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  return boundary && boundary.length > 0 ? boundary : undefined;
}

const CR = 0x0d;
const LF = 0x0a;
const isWhitespace = (b: number) => b === 0x20 || b === 0x09 || b === CR || b === LF;
/** Garbage reported without waiting for a boundary once this much has been skipped. */
const GARBAGE_REPORT_BYTES = 64 * 1024;

type State = 'seek' | 'headers' | 'body';

export class MultipartReader {
  private readonly delimiter: Buffer;
  private readonly maxPartBytes: number;
  private readonly maxHeaderBytes: number;
  private buf: Buffer = Buffer.alloc(0);
  private state: State = 'seek';
  private headers: Record<string, string> = {};
  private contentLength: number | undefined;
  /** the body is being skipped (too large), not delivered */
  private discarding = false;
  /** bytes of the buffer already searched for the delimiter, so a large body is not searched again from the start */
  private scanned = 0;
  /** skipping after an error: what is skipped up to the next boundary was already reported */
  private quiet = false;
  private garbageBytes = 0;
  private garbageSample = '';

  constructor(boundary: string, options: MultipartReaderOptions = {}) {
    if (boundary.length === 0 || boundary.length > 70) throw new RangeError('a multipart boundary has 1 to 70 characters');
    this.delimiter = Buffer.from(`--${boundary}`, 'latin1');
    this.maxPartBytes = options.maxPartBytes ?? 2 * 1024 * 1024;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 8 * 1024;
  }

  /** Takes the next bytes of the stream; returns the parts and errors they completed, in order. */
  push(chunk: Uint8Array): MultipartItem[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: MultipartItem[] = [];
    while (this.step(out));
    return out;
  }

  /** The stream ended: reports a part cut short, or garbage not yet reported. */
  end(): MultipartItem[] {
    const out: MultipartItem[] = [];
    if (this.state !== 'seek' && !this.discarding) out.push({ kind: 'error', reason: 'truncated', detail: `the stream ended inside a part (${this.buf.length} bytes of it received)` });
    else if (this.state === 'seek') {
      this.countGarbage(this.buf);
      this.reportGarbage(out);
    }
    this.buf = Buffer.alloc(0);
    this.state = 'seek';
    this.discarding = false;
    this.quiet = false;
    return out;
  }

  private step(out: MultipartItem[]): boolean {
    switch (this.state) {
      case 'seek':
        return this.seek(out);
      case 'headers':
        return this.readHeaders(out);
      case 'body':
        return this.contentLength !== undefined ? this.readSizedBody(out) : this.readDelimitedBody(out);
    }
  }

  private consume(n: number): void {
    this.buf = this.buf.subarray(n);
    this.scanned = 0;
  }

  private fail(out: MultipartItem[], reason: MultipartErrorReason, detail: string): void {
    out.push({ kind: 'error', reason, detail });
    this.state = 'seek';
    this.discarding = false;
    this.quiet = true;
  }

  private countGarbage(bytes: Buffer): void {
    if (this.quiet) return;
    for (const b of bytes) {
      if (isWhitespace(b)) continue;
      this.garbageBytes++;
      if (this.garbageSample.length < 32) this.garbageSample += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
  }

  private reportGarbage(out: MultipartItem[]): void {
    if (this.garbageBytes === 0) return;
    out.push({ kind: 'error', reason: 'garbage', detail: `${this.garbageBytes} bytes outside any part skipped (starting "${this.garbageSample}")` });
    this.garbageBytes = 0;
    this.garbageSample = '';
  }

  private seek(out: MultipartItem[]): boolean {
    const dlen = this.delimiter.length;
    const idx = this.buf.indexOf(this.delimiter);
    if (idx < 0) {
      // Keep what could be the start of a delimiter split across chunks.
      const keep = Math.min(this.buf.length, dlen - 1);
      this.countGarbage(this.buf.subarray(0, this.buf.length - keep));
      this.consume(this.buf.length - keep);
      if (this.garbageBytes >= GARBAGE_REPORT_BYTES) this.reportGarbage(out);
      return false;
    }
    this.countGarbage(this.buf.subarray(0, idx));
    this.consume(idx);
    // The delimiter line: "--boundary", then "--" for the last one, or optional padding and a line break.
    let pos = dlen;
    if (this.buf.length < pos + 2) return false;
    if (this.buf[pos] === 0x2d && this.buf[pos + 1] === 0x2d) {
      this.quiet = false;
      this.reportGarbage(out);
      this.consume(pos + 2);
      return true;
    }
    while (pos < this.buf.length && (this.buf[pos] === 0x20 || this.buf[pos] === 0x09) && pos - dlen < 64) pos++;
    if (pos >= this.buf.length) return false;
    if (this.buf[pos] === CR) {
      if (pos + 1 >= this.buf.length) return false;
      if (this.buf[pos + 1] === LF) pos += 2;
      else pos = -1;
    } else if (this.buf[pos] === LF) pos += 1;
    else pos = -1;
    if (pos < 0) {
      // "--boundary" followed by something else: a longer boundary, or text that happens to contain it.
      this.countGarbage(this.buf.subarray(0, 1));
      this.consume(1);
      return true;
    }
    this.quiet = false;
    this.reportGarbage(out);
    this.consume(pos);
    this.state = 'headers';
    this.headers = {};
    this.contentLength = undefined;
    return true;
  }

  private readHeaders(out: MultipartItem[]): boolean {
    let headerEnd: number;
    let bodyStart: number;
    if (this.buf.length >= 1 && this.buf[0] === LF) {
      [headerEnd, bodyStart] = [0, 1];
    } else if (this.buf.length >= 2 && this.buf[0] === CR && this.buf[1] === LF) {
      [headerEnd, bodyStart] = [0, 2];
    } else {
      const crlf = this.buf.indexOf('\r\n\r\n', 0, 'latin1');
      const lf = this.buf.indexOf('\n\n', 0, 'latin1');
      if (crlf >= 0 && (lf < 0 || crlf < lf)) [headerEnd, bodyStart] = [crlf, crlf + 4];
      else if (lf >= 0) [headerEnd, bodyStart] = [lf, lf + 2];
      else [headerEnd, bodyStart] = [-1, -1];
    }
    const nextDelimiter = this.buf.indexOf(this.delimiter);
    if (nextDelimiter >= 0 && (headerEnd < 0 || nextDelimiter < headerEnd)) {
      this.consume(nextDelimiter);
      this.fail(out, 'bad_headers', 'a part with no end to its headers before the next boundary');
      return true;
    }
    if (headerEnd < 0) {
      if (this.buf.length > this.maxHeaderBytes) {
        this.consume(this.buf.length - (this.delimiter.length - 1));
        this.fail(out, 'headers_too_large', `part headers longer than ${this.maxHeaderBytes} bytes`);
        return true;
      }
      return false;
    }
    if (headerEnd > this.maxHeaderBytes) {
      this.consume(bodyStart);
      this.fail(out, 'headers_too_large', `part headers longer than ${this.maxHeaderBytes} bytes`);
      return true;
    }
    const lines = headerEnd === 0 ? [] : this.buf.subarray(0, headerEnd).toString('latin1').split(/\r?\n/);
    this.consume(bodyStart);
    for (const line of lines) {
      const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*:[ \t]*(.*?)[ \t]*$/.exec(line);
      if (!m) {
        this.fail(out, 'bad_headers', `part header line is not "Name: value": "${line.slice(0, 60).replace(/[^\x20-\x7e]/g, '.')}"`);
        return true;
      }
      this.headers[m[1]!.toLowerCase()] = m[2]!;
    }
    const length = this.headers['content-length'];
    if (length !== undefined) {
      if (!/^[0-9]{1,10}$/.test(length)) {
        this.fail(out, 'bad_content_length', `Content-Length "${length.slice(0, 20)}" is not a byte count`);
        return true;
      }
      this.contentLength = Number(length);
      if (this.contentLength > this.maxPartBytes) {
        out.push({ kind: 'error', reason: 'part_too_large', detail: `a part of ${this.contentLength} bytes exceeds the limit of ${this.maxPartBytes}` });
        this.discarding = true;
      }
    }
    this.state = 'body';
    return true;
  }

  private readSizedBody(out: MultipartItem[]): boolean {
    const length = this.contentLength!;
    const dlen = this.delimiter.length;
    // A boundary inside the declared length means the length was wrong (RFC 2046: the boundary never
    // appears in a body): the part is refused and reading goes on at that boundary.
    const from = Math.max(0, this.scanned - dlen + 1);
    const searchEnd = Math.min(this.buf.length, length);
    const idx = this.buf.subarray(0, searchEnd).indexOf(this.delimiter, from);
    if (idx >= 0 && idx < length) {
      const wasDiscarding = this.discarding;
      this.consume(idx);
      if (wasDiscarding) {
        this.state = 'seek';
        this.discarding = false;
      } else this.fail(out, 'length_mismatch', `a part declared ${length} bytes but the next boundary came after ${idx}`);
      return true;
    }
    this.scanned = searchEnd;
    if (this.buf.length < length) {
      if (this.discarding) {
        // Drop what is not needed to spot a boundary, to keep the buffer bounded.
        const drop = Math.max(0, this.buf.length - (dlen - 1));
        this.contentLength = length - drop;
        this.consume(drop);
        this.scanned = this.buf.length;
      }
      return false;
    }
    const body = Buffer.from(this.buf.subarray(0, length));
    this.consume(length);
    if (!this.discarding) out.push({ kind: 'part', headers: this.headers, body });
    this.discarding = false;
    this.state = 'seek';
    return true;
  }

  private readDelimitedBody(out: MultipartItem[]): boolean {
    const dlen = this.delimiter.length;
    const from = Math.max(0, this.scanned - dlen + 1);
    const idx = this.buf.indexOf(this.delimiter, from);
    if (idx < 0) {
      this.scanned = this.buf.length;
      if (this.buf.length > this.maxPartBytes + 2) {
        this.consume(this.buf.length - (dlen - 1));
        this.fail(out, 'part_too_large', `a part without Content-Length ran past the limit of ${this.maxPartBytes} bytes`);
        return true;
      }
      return false;
    }
    // The line break before the delimiter belongs to the delimiter, not to the body.
    let end = idx;
    if (end > 0 && this.buf[end - 1] === LF) end--;
    if (end > 0 && this.buf[end - 1] === CR) end--;
    if (end > this.maxPartBytes) {
      this.consume(idx);
      this.fail(out, 'part_too_large', `a part of ${end} bytes exceeds the limit of ${this.maxPartBytes}`);
      this.quiet = false;
      return true;
    }
    const body = Buffer.from(this.buf.subarray(0, end));
    this.consume(idx);
    out.push({ kind: 'part', headers: this.headers, body });
    this.state = 'seek';
    return true;
  }
}
