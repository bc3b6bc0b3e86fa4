/**
 * How simulated firmware lays values into 16-bit registers. Written on its own, from the vendors'
 * conventions, and never shared with the gateway's decoder: a bug in one must not cancel out in the other.
 */
export type NumberType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';
export type ByteLayout = 'ABCD' | 'CDAB' | 'BADC' | 'DCBA';

export interface Encoding {
  type: NumberType;
  /** ABCD: high word first, high byte first (big-endian); CDAB: low word first; BADC: bytes swapped; DCBA: little-endian */
  order: ByteLayout;
  /** register = round(value / scale) for integer types; e.g. 0.1 for "V × 10" */
  scale?: number;
}

const SIZE: Record<NumberType, number> = { int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float32: 4, float64: 8 };

export function wordCount(type: NumberType): number {
  return SIZE[type] / 2;
}

function bigEndianBytes(value: number, enc: Encoding): Buffer {
  const b = Buffer.alloc(SIZE[enc.type]);
  const raw = enc.scale ? value / enc.scale : value;
  switch (enc.type) {
    case 'float32':
      b.writeFloatBE(raw);
      break;
    case 'float64':
      b.writeDoubleBE(raw);
      break;
    case 'int16':
      b.writeInt16BE(clampInt(raw, -0x8000, 0x7fff));
      break;
    case 'uint16':
      b.writeUInt16BE(clampInt(raw, 0, 0xffff));
      break;
    case 'int32':
      b.writeInt32BE(clampInt(raw, -0x80000000, 0x7fffffff));
      break;
    case 'uint32':
      // Counters in uint32 registers wrap, as the firmware's would.
      b.writeUInt32BE(Math.round(raw) >>> 0);
      break;
    case 'int64':
      b.writeBigInt64BE(BigInt(Math.round(raw)));
      break;
    case 'uint64':
      b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(Math.round(raw))));
      break;
  }
  return b;
}

function clampInt(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(v)));
}

/** The registers holding `value`, in the device's word and byte order. */
export function encodeRegisters(value: number, enc: Encoding): number[] {
  const be = bigEndianBytes(value, enc);
  const words: number[] = [];
  for (let i = 0; i < be.length; i += 2) {
    const hi = be[i] ?? 0;
    const lo = be[i + 1] ?? 0;
    const byteSwapped = enc.order === 'BADC' || enc.order === 'DCBA';
    words.push(byteSwapped ? (lo << 8) | hi : (hi << 8) | lo);
  }
  return enc.order === 'CDAB' || enc.order === 'DCBA' ? words.reverse() : words;
}

/** The value a reader decodes from those registers: what actually went on the wire. */
export function servedValue(value: number, enc: Encoding): number {
  const raw = enc.scale ? value / enc.scale : value;
  let wire: number;
  switch (enc.type) {
    case 'float32':
      wire = Math.fround(raw);
      break;
    case 'float64':
      wire = raw;
      break;
    case 'int16':
      wire = clampInt(raw, -0x8000, 0x7fff);
      break;
    case 'uint16':
      wire = clampInt(raw, 0, 0xffff);
      break;
    case 'int32':
      wire = clampInt(raw, -0x80000000, 0x7fffffff);
      break;
    case 'uint32':
      wire = Math.round(raw) >>> 0;
      break;
    default:
      wire = Math.round(raw);
  }
  return enc.scale ? wire * enc.scale : wire;
}
