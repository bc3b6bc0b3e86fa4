import { checksum8, crc16AugCcitt } from './osdp-checks.js';

/** Start of message; an optional 0xFF mark byte may precede it on the wire. */
export const SOM = 0x53;
export const MARK = 0xff;
export const BROADCAST_ADDRESS = 0x7f;
/** Bit 7 of the address byte: set in replies from a peripheral. */
export const REPLY_FLAG = 0x80;

const CTRL_SEQUENCE_MASK = 0x03;
const CTRL_CRC = 0x04;
const CTRL_SECURITY_BLOCK = 0x08;
/** SOM, ADDR, LEN (2), CTRL. */
const HEADER_BYTES = 5;
/** Longest frame accepted; the standard leaves it to the peripheral's receive buffer, 1,440 is generous. */
export const MAX_FRAME_BYTES = 1440;

export type Sequence = 0 | 1 | 2 | 3;

export interface OsdpFrame {
  /** 0–0x7E a peripheral, 0x7F broadcast */
  address: number;
  /** true for a peripheral's reply (address bit 7) */
  reply: boolean;
  sequence: Sequence;
  /** CRC-16 (true) or one-byte checksum (false) */
  useCrc: boolean;
  /** the security control block: its type and data, when the frame carries one */
  securityBlock?: { type: number; data: Uint8Array };
  /** command or reply code */
  code: number;
  /** the data after the code, before any MAC (still encrypted in a secured frame) */
  data: Uint8Array;
  /** the 4-byte MAC of a secured frame */
  mac?: Uint8Array;
}

export class OsdpFrameError extends Error {
  constructor(
    /** short machine-readable reason, the label of the rejection metric */
    readonly reason: 'bad_crc' | 'bad_checksum' | 'bad_length' | 'bad_security_block' | 'too_long',
    message: string,
  ) {
    super(message);
    this.name = 'OsdpFrameError';
  }
}

/** Security block types whose frames carry a 4-byte MAC before the CRC (SCS_15 … SCS_18). */
const MAC_CARRYING_BLOCKS = new Set([0x15, 0x16, 0x17, 0x18]);

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').replace(/(..)/g, '$1 ').trim();

/** Encodes a frame (without the leading mark byte; the link adds it). */
export function encodeFrame(frame: OsdpFrame): Buffer {
  const security = frame.securityBlock ? 2 + frame.securityBlock.data.length : 0;
  const mac = frame.mac?.length ?? 0;
  const check = frame.useCrc ? 2 : 1;
  const length = HEADER_BYTES + security + 1 + frame.data.length + mac + check;
  if (length > MAX_FRAME_BYTES) throw new OsdpFrameError('too_long', `frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const out = Buffer.alloc(length);
  let i = 0;
  out[i++] = SOM;
  out[i++] = (frame.address & 0x7f) | (frame.reply ? REPLY_FLAG : 0);
  out.writeUInt16LE(length, i);
  i += 2;
  out[i++] = (frame.sequence & CTRL_SEQUENCE_MASK) | (frame.useCrc ? CTRL_CRC : 0) | (frame.securityBlock ? CTRL_SECURITY_BLOCK : 0);
  if (frame.securityBlock) {
    out[i++] = 2 + frame.securityBlock.data.length;
    out[i++] = frame.securityBlock.type;
    out.set(frame.securityBlock.data, i);
    i += frame.securityBlock.data.length;
  }
  out[i++] = frame.code;
  out.set(frame.data, i);
  i += frame.data.length;
  if (frame.mac) {
    out.set(frame.mac, i);
    i += frame.mac.length;
  }
  if (frame.useCrc) out.writeUInt16LE(crc16AugCcitt(out, 0, i), i);
  else out[i] = checksum8(out, 0, i);
  return out;
}

/** Decodes one whole frame starting at SOM (no mark byte); throws OsdpFrameError naming what is wrong. */
export function decodeFrame(bytes: Uint8Array): OsdpFrame {
  if (bytes.length < HEADER_BYTES + 2 || bytes[0] !== SOM) throw new OsdpFrameError('bad_length', `not an OSDP frame: ${hex(bytes.subarray(0, 8))}`);
  const length = bytes[2]! | (bytes[3]! << 8);
  if (length !== bytes.length) throw new OsdpFrameError('bad_length', `length field says ${length} bytes, frame has ${bytes.length}`);
  const ctrl = bytes[4]!;
  const useCrc = (ctrl & CTRL_CRC) !== 0;
  const checkBytes = useCrc ? 2 : 1;
  if (useCrc) {
    const expected = crc16AugCcitt(bytes, 0, length - 2);
    const got = bytes[length - 2]! | (bytes[length - 1]! << 8);
    if (expected !== got) throw new OsdpFrameError('bad_crc', `CRC ${got.toString(16).padStart(4, '0')} does not match ${expected.toString(16).padStart(4, '0')}`);
  } else {
    const expected = checksum8(bytes, 0, length - 1);
    if (expected !== bytes[length - 1]) throw new OsdpFrameError('bad_checksum', `checksum ${bytes[length - 1]!.toString(16)} does not match ${expected.toString(16)}`);
  }
  let i = HEADER_BYTES;
  let securityBlock: OsdpFrame['securityBlock'];
  if (ctrl & CTRL_SECURITY_BLOCK) {
    const blockLength = bytes[i]!;
    if (blockLength < 2 || i + blockLength >= length - checkBytes) throw new OsdpFrameError('bad_security_block', `security block length ${blockLength} does not fit the frame`);
    securityBlock = { type: bytes[i + 1]!, data: Uint8Array.from(bytes.subarray(i + 2, i + blockLength)) };
    i += blockLength;
  }
  const macBytes = securityBlock && MAC_CARRYING_BLOCKS.has(securityBlock.type) ? 4 : 0;
  const dataEnd = length - checkBytes - macBytes;
  if (dataEnd < i + 1) throw new OsdpFrameError('bad_length', `frame of ${length} bytes is too short for its header, code and MAC`);
  const frame: OsdpFrame = {
    address: bytes[1]! & 0x7f,
    reply: (bytes[1]! & REPLY_FLAG) !== 0,
    sequence: (ctrl & CTRL_SEQUENCE_MASK) as Sequence,
    useCrc,
    code: bytes[i]!,
    data: Uint8Array.from(bytes.subarray(i + 1, dataEnd)),
  };
  if (securityBlock) frame.securityBlock = securityBlock;
  if (macBytes) frame.mac = Uint8Array.from(bytes.subarray(dataEnd, dataEnd + 4));
  return frame;
}

export type ReaderEvent = { frame: OsdpFrame; bytes: Buffer } | { error: OsdpFrameError; bytes: Buffer };

/**
 * Cuts a byte stream (serial line or TCP) into frames. Bytes before a SOM are skipped (line noise, the
 * mark byte); a frame whose check fails is reported and skipped, and reading resumes after its SOM, so
 * one damaged frame never costs the ones behind it.
 */
export class FrameReader {
  private buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): ReaderEvent[] {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const events: ReaderEvent[] = [];
    for (;;) {
      const som = this.buffer.indexOf(SOM);
      if (som < 0) {
        this.buffer = Buffer.alloc(0);
        return events;
      }
      if (som > 0) this.buffer = this.buffer.subarray(som);
      if (this.buffer.length < 4) return events;
      const length = this.buffer[2]! | (this.buffer[3]! << 8);
      if (length < HEADER_BYTES + 2 || length > MAX_FRAME_BYTES) {
        events.push({ error: new OsdpFrameError('bad_length', `length field ${length} is outside ${HEADER_BYTES + 2}..${MAX_FRAME_BYTES}`), bytes: Buffer.from(this.buffer.subarray(0, 4)) });
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      if (this.buffer.length < length) return events;
      const bytes = Buffer.from(this.buffer.subarray(0, length));
      try {
        events.push({ frame: decodeFrame(bytes), bytes });
        this.buffer = this.buffer.subarray(length);
      } catch (err) {
        if (!(err instanceof OsdpFrameError)) throw err;
        events.push({ error: err, bytes });
        // Resynchronise on the next SOM inside the bad frame: it may hide a good one.
        this.buffer = this.buffer.subarray(1);
      }
    }
  }

  /** Bytes waiting for the rest of their frame. */
  get pending(): number {
    return this.buffer.length;
  }
}
