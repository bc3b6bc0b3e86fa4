import { crc32 } from 'node:zlib';

/**
 * One journal record on disk:
 *
 *   offset  size  field
 *   0       2     magic 0x4748 ("GH")
 *   2       1     format version (1)
 *   3       1     reserved (0)
 *   4       4     payload length, bytes (uint32 BE)
 *   8       8     sequence number (uint64 BE)
 *   16      8     time the entry was written, epoch ms (float64 BE)
 *   24      4     number of items in the payload, e.g. readings (uint32 BE)
 *   28      4     CRC-32 of bytes 0..27 and of the payload (uint32 BE)
 *   32      n     payload
 *
 * The CRC covers the header too, so a torn write (power cut, kill -9 in the middle of a write) or a
 * flipped bit anywhere is detected, and the reader can resynchronise on the next valid record.
 */
export const RECORD_MAGIC = 0x4748;
export const RECORD_VERSION = 1;
export const HEADER_BYTES = 32;
/** Larger payloads are refused: they would only come from a bug. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

export interface RecordHeader {
  seq: number;
  ts: number;
  count: number;
  length: number;
}

export function encodeRecord(seq: number, ts: number, count: number, payload: Buffer): Buffer {
  const record = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  record.writeUInt16BE(RECORD_MAGIC, 0);
  record.writeUInt8(RECORD_VERSION, 2);
  record.writeUInt8(0, 3);
  record.writeUInt32BE(payload.length, 4);
  record.writeBigUInt64BE(BigInt(seq), 8);
  record.writeDoubleBE(ts, 16);
  record.writeUInt32BE(count, 24);
  payload.copy(record, HEADER_BYTES);
  record.writeUInt32BE(recordCrc(record.subarray(0, 28), payload), 28);
  return record;
}

function recordCrc(header: Buffer, payload: Buffer): number {
  return crc32(payload, crc32(header));
}

export type DecodeOutcome =
  | { kind: 'record'; header: RecordHeader; payloadOffset: number; next: number }
  /** not enough bytes for a whole record: the end of the data, or a torn write */
  | { kind: 'truncated' }
  /** bytes that are not a valid record at this offset */
  | { kind: 'corrupt'; reason: string };

/** Decodes the record that starts at `offset`, checking its CRC. */
export function decodeRecordAt(data: Buffer, offset: number): DecodeOutcome {
  if (data.length - offset < HEADER_BYTES) return { kind: 'truncated' };
  if (data.readUInt16BE(offset) !== RECORD_MAGIC) return { kind: 'corrupt', reason: 'bad magic' };
  if (data.readUInt8(offset + 2) !== RECORD_VERSION) return { kind: 'corrupt', reason: `unknown version ${data.readUInt8(offset + 2)}` };
  const length = data.readUInt32BE(offset + 4);
  if (length > MAX_PAYLOAD_BYTES) return { kind: 'corrupt', reason: `implausible length ${length}` };
  const end = offset + HEADER_BYTES + length;
  if (end > data.length) return { kind: 'truncated' };
  const header = data.subarray(offset, offset + 28);
  const payload = data.subarray(offset + HEADER_BYTES, end);
  if (recordCrc(header, payload) !== data.readUInt32BE(offset + 28)) return { kind: 'corrupt', reason: 'CRC mismatch' };
  return {
    kind: 'record',
    header: { seq: Number(data.readBigUInt64BE(offset + 8)), ts: data.readDoubleBE(offset + 16), count: data.readUInt32BE(offset + 24), length },
    payloadOffset: offset + HEADER_BYTES,
    next: end,
  };
}

/** The offset of the next valid record at or after `from`, or -1: how a reader skips damage. */
export function resynchronise(data: Buffer, from: number): number {
  for (let offset = from; offset + HEADER_BYTES <= data.length; offset++) {
    if (data[offset] !== 0x47 || data[offset + 1] !== 0x48) continue;
    if (decodeRecordAt(data, offset).kind === 'record') return offset;
  }
  return -1;
}
