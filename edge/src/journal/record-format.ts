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
 * Version 2 records (written by compaction, which replaces a run of entries by fewer ones) carry the
 * first sequence number they cover, so that the range they stand for stays known:
 *
 *   0..27         as above, version 2
 *   28      8     first sequence number covered (uint64 BE)
 *   36      4     CRC-32 of bytes 0..35 and of the payload
 *   40      n     payload
 *
 * The CRC covers the header too, so a torn write (power cut, kill -9 in the middle of a write) or a
 * flipped bit anywhere is detected, and the reader can resynchronise on the next valid record.
 */
export const RECORD_MAGIC = 0x4748;
export const RECORD_VERSION = 1;
export const HEADER_BYTES = 32;
export const COMPACTED_RECORD_VERSION = 2;
export const COMPACTED_HEADER_BYTES = 40;
/** Larger payloads are refused: they would only come from a bug. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

export interface RecordHeader {
  seq: number;
  /** first sequence number the record stands for (itself, unless compacted) */
  firstSeq: number;
  ts: number;
  count: number;
  length: number;
  headerBytes: number;
}

/** Encodes a record; `firstSeq` below `seq` makes it a compacted (version 2) record covering firstSeq..seq. */
export function encodeRecord(seq: number, ts: number, count: number, payload: Buffer, firstSeq = seq): Buffer {
  const compacted = firstSeq !== seq;
  const headerBytes = compacted ? COMPACTED_HEADER_BYTES : HEADER_BYTES;
  const record = Buffer.allocUnsafe(headerBytes + payload.length);
  record.writeUInt16BE(RECORD_MAGIC, 0);
  record.writeUInt8(compacted ? COMPACTED_RECORD_VERSION : RECORD_VERSION, 2);
  record.writeUInt8(0, 3);
  record.writeUInt32BE(payload.length, 4);
  record.writeBigUInt64BE(BigInt(seq), 8);
  record.writeDoubleBE(ts, 16);
  record.writeUInt32BE(count, 24);
  if (compacted) record.writeBigUInt64BE(BigInt(firstSeq), 28);
  payload.copy(record, headerBytes);
  record.writeUInt32BE(recordCrc(record.subarray(0, headerBytes - 4), payload), headerBytes - 4);
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
  const version = data.readUInt8(offset + 2);
  if (version !== RECORD_VERSION && version !== COMPACTED_RECORD_VERSION) return { kind: 'corrupt', reason: `unknown version ${version}` };
  const headerBytes = version === COMPACTED_RECORD_VERSION ? COMPACTED_HEADER_BYTES : HEADER_BYTES;
  if (data.length - offset < headerBytes) return { kind: 'truncated' };
  const length = data.readUInt32BE(offset + 4);
  if (length > MAX_PAYLOAD_BYTES) return { kind: 'corrupt', reason: `implausible length ${length}` };
  const end = offset + headerBytes + length;
  if (end > data.length) return { kind: 'truncated' };
  const header = data.subarray(offset, offset + headerBytes - 4);
  const payload = data.subarray(offset + headerBytes, end);
  if (recordCrc(header, payload) !== data.readUInt32BE(offset + headerBytes - 4)) return { kind: 'corrupt', reason: 'CRC mismatch' };
  const seq = Number(data.readBigUInt64BE(offset + 8));
  return {
    kind: 'record',
    header: {
      seq,
      firstSeq: version === COMPACTED_RECORD_VERSION ? Number(data.readBigUInt64BE(offset + 28)) : seq,
      ts: data.readDoubleBE(offset + 16),
      count: data.readUInt32BE(offset + 24),
      length,
      headerBytes,
    },
    payloadOffset: offset + headerBytes,
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
