import { describe, expect, it } from 'vitest';
import { decodePoint, decodeRaw, type ProfilePoint } from '@gatehouse/edge';

// Vectors written out by hand (Python struct.pack), independent of the decoder's own swapping code.
const vectors = [
  { type: 'float32', value: Math.fround(123.456), ABCD: [0x42f6, 0xe979], CDAB: [0xe979, 0x42f6], BADC: [0xf642, 0x79e9], DCBA: [0x79e9, 0xf642] },
  { type: 'int32', value: -123456789, ABCD: [0xf8a4, 0x32eb], CDAB: [0x32eb, 0xf8a4], BADC: [0xa4f8, 0xeb32], DCBA: [0xeb32, 0xa4f8] },
  { type: 'uint32', value: 3000000000, ABCD: [0xb2d0, 0x5e00], CDAB: [0x5e00, 0xb2d0], BADC: [0xd0b2, 0x005e], DCBA: [0x005e, 0xd0b2] },
  { type: 'int16', value: -2, ABCD: [0xfffe], CDAB: [0xfffe], BADC: [0xfeff], DCBA: [0xfeff] },
  { type: 'uint16', value: 0xfffe, ABCD: [0xfffe], CDAB: [0xfffe], BADC: [0xfeff], DCBA: [0xfeff] },
  {
    type: 'int64',
    value: -1234567890123,
    ABCD: [0xffff, 0xfee0, 0x8e04, 0xfb35],
    CDAB: [0xfb35, 0x8e04, 0xfee0, 0xffff],
    BADC: [0xffff, 0xe0fe, 0x048e, 0x35fb],
    DCBA: [0x35fb, 0x048e, 0xe0fe, 0xffff],
  },
  {
    type: 'uint64',
    value: 2 ** 53 - 1,
    ABCD: [0x001f, 0xffff, 0xffff, 0xffff],
    CDAB: [0xffff, 0xffff, 0xffff, 0x001f],
    BADC: [0x1f00, 0xffff, 0xffff, 0xffff],
    DCBA: [0xffff, 0xffff, 0xffff, 0x1f00],
  },
  {
    type: 'float64',
    value: 1234567.891,
    ABCD: [0x4132, 0xd687, 0xe418, 0x9375],
    CDAB: [0x9375, 0xe418, 0xd687, 0x4132],
    BADC: [0x3241, 0x87d6, 0x18e4, 0x7593],
    DCBA: [0x7593, 0x18e4, 0x87d6, 0x3241],
  },
] as const;

describe('register decoding', () => {
  for (const v of vectors) {
    for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
      it(`${v.type} in ${order}`, () => {
        expect(decodeRaw(v[order], v.type, order)).toBe(v.value);
      });
    }
  }

  it('refuses a word count that does not fit the type', () => {
    expect(() => decodeRaw([1], 'float32', 'ABCD')).toThrow('float32 needs 2 registers, got 1');
  });

  it('takes a point out of a merged block and applies scale and offset', () => {
    const point: ProfilePoint = { metric: 'energy', address: 102, function: 'holding', type: 'uint32', order: 'CDAB', scale: 0.01, offset: -5, unit: 'kWh', kind: 'counter' };
    // Block starts at 100: two unrelated registers, then the value 3000000000 word-swapped.
    expect(decodePoint(point, [0x1111, 0x2222, 0x5e00, 0xb2d0], 100)).toBeCloseTo(29_999_995, 6);
  });
});
