import { registerCount, type ProfilePoint, type RegisterType, type WordOrder } from './profile.js';

// One scratch buffer for every decode: the poller decodes thousands of values a second, and a fresh
// Buffer for each would be garbage for the collector.
const scratch = Buffer.alloc(8);

/**
 * Arranges register words into big-endian bytes (in the scratch buffer) according to the device's
 * word/byte order, so that one set of Buffer readers decodes every layout.
 */
function toBigEndianBytes(words: readonly number[], order: WordOrder): Buffer {
  const swapWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  const n = words.length;
  for (let i = 0; i < n; i++) {
    const word = words[swapWords ? n - 1 - i : i] ?? 0;
    const hi = (word >> 8) & 0xff;
    const lo = word & 0xff;
    scratch[i * 2] = swapBytes ? lo : hi;
    scratch[i * 2 + 1] = swapBytes ? hi : lo;
  }
  return scratch;
}

/** Decodes the raw number held in `words` (exactly registerCount(type) of them). */
export function decodeRaw(words: readonly number[], type: RegisterType, order: WordOrder): number {
  if (words.length !== registerCount(type)) {
    throw new RangeError(`${type} needs ${registerCount(type)} registers, got ${words.length}`);
  }
  if (type === 'bool') return words[0] ? 1 : 0;
  const b = toBigEndianBytes(words, order);
  switch (type) {
    case 'int16':
      return b.readInt16BE(0);
    case 'uint16':
      return b.readUInt16BE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'int64':
      return Number(b.readBigInt64BE(0));
    case 'uint64':
      return Number(b.readBigUInt64BE(0));
    case 'float32':
      return b.readFloatBE(0);
    case 'float64':
      return b.readDoubleBE(0);
    default:
      throw new RangeError(`unknown register type ${String(type)}`);
  }
}

function wordsAt(block: readonly number[], blockAddress: number, address: number, type: RegisterType): number[] {
  const start = address - blockAddress;
  return block.slice(start, start + registerCount(type));
}

/** Instrument-transformer ratios of a device, for points measured on the secondary side. */
export interface TransformerRatios {
  pt: number;
  ct: number;
}

const NO_RATIOS: TransformerRatios = { pt: 1, ct: 1 };

function schneiderPowerFactor(r: number): number {
  if (r < -1) return -2 - r;
  if (r > 1) return 2 - r;
  return r;
}

/** Engineering value of a point, taken from a block of registers that starts at `blockAddress`. */
export function decodePoint(point: ProfilePoint, block: readonly number[], blockAddress: number, ratios: TransformerRatios = NO_RATIOS): number {
  let raw = decodeRaw(wordsAt(block, blockAddress, point.address, point.type), point.type, point.order);
  if (point.fraction) raw += decodeRaw(wordsAt(block, blockAddress, point.fraction.address, point.fraction.type), point.fraction.type, point.fraction.order);
  // Skip the arithmetic for the common unscaled case so float32 values arrive bit-exact.
  let value = point.scale === 1 && point.offset === 0 ? raw : raw * point.scale + point.offset;
  if (point.transform === 'schneider-power-factor') value = schneiderPowerFactor(value);
  if (point.ratio === 'pt') value *= ratios.pt;
  else if (point.ratio === 'ct') value *= ratios.ct;
  else if (point.ratio === 'ptct') value *= ratios.pt * ratios.ct;
  return value;
}
