import { describe, expect, it } from 'vitest';
import { checksum8, crc16AugCcitt, decodeFrame, encodeFrame, FrameReader, OsdpFrameError } from '@gatehouse/edge';

const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('OSDP integrity checks', () => {
  it('computes CRC-16/AUG-CCITT with its published check value', () => {
    expect(crc16AugCcitt(Buffer.from('123456789'))).toBe(0xe5cc);
  });

  it('reproduces the SIA Annex E CRC', () => {
    expect(crc16AugCcitt(bytes('53 7F 0D 00 04 6E 00 80 25 00 00'))).toBe(0x386e);
  });

  it("checksums with the two's complement of the byte sum", () => {
    expect(checksum8(bytes('53 65 07 00 00 60'))).toBe(0xe1);
  });
});

describe('OSDP frames', () => {
  // Test vectors from libosdp's unit tests (the mark byte 0xFF is the link's, not the frame's).
  const vectors: [string, string, Parameters<typeof encodeFrame>[0]][] = [
    ['POLL to PD 0x65', 'FF 53 65 08 00 04 60 60 90', { address: 0x65, reply: false, sequence: 0, useCrc: true, code: 0x60, data: new Uint8Array() }],
    ['ID', 'FF 53 65 09 00 04 61 00 D9 7A', { address: 0x65, reply: false, sequence: 0, useCrc: true, code: 0x61, data: Uint8Array.of(0) }],
    ['POLL with checksum', '53 65 07 00 00 60 E1', { address: 0x65, reply: false, sequence: 0, useCrc: false, code: 0x60, data: new Uint8Array() }],
    ['ACK', '53 E5 07 00 01 40 80', { address: 0x65, reply: true, sequence: 1, useCrc: false, code: 0x40, data: new Uint8Array() }],
    ['NAK 1', '53 E5 09 00 05 41 01 0E 8F', { address: 0x65, reply: true, sequence: 1, useCrc: true, code: 0x41, data: Uint8Array.of(1) }],
  ];

  for (const [name, wire, frame] of vectors) {
    it(`encodes and decodes ${name} byte for byte`, () => {
      const expected = bytes(wire.replace(/^FF /, ''));
      expect(encodeFrame(frame).toString('hex')).toBe(expected.toString('hex'));
      expect(decodeFrame(expected)).toEqual(frame);
    });
  }

  it('encodes the SIA Annex E COMSET frame with its CRC', () => {
    const frame = encodeFrame({ address: 0x7f, reply: false, sequence: 0, useCrc: true, code: 0x6e, data: bytes('00 80 25 00 00') });
    expect(frame.toString('hex')).toBe('537f0d00046e00802500006e38');
  });

  it('carries a security block and a MAC', () => {
    const frame = { address: 1, reply: false, sequence: 2 as const, useCrc: true, securityBlock: { type: 0x17, data: new Uint8Array() }, code: 0x60, data: new Uint8Array(), mac: Uint8Array.of(1, 2, 3, 4) };
    expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
  });

  it('refuses a bad CRC, a bad checksum and a wrong length, naming the problem', () => {
    expect(() => decodeFrame(bytes('53 65 08 00 04 60 60 91'))).toThrow(new OsdpFrameError('bad_crc', 'CRC 9160 does not match 9060'));
    expect(() => decodeFrame(bytes('53 65 07 00 00 60 E2'))).toThrow(new OsdpFrameError('bad_checksum', 'checksum e2 does not match e1'));
    expect(() => decodeFrame(bytes('53 65 09 00 04 60 60 90'))).toThrow(new OsdpFrameError('bad_length', 'length field says 9 bytes, frame has 8'));
  });
});

describe('OSDP frame reader', () => {
  it('finds frames in a stream cut anywhere, after noise and mark bytes', () => {
    const stream = Buffer.concat([bytes('00 17 FF'), bytes('53 65 08 00 04 60 60 90'), bytes('FF 53 E5 07 00 01 40 80')]);
    for (let cut = 1; cut < stream.length; cut++) {
      const reader = new FrameReader();
      const events = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(events.map((e) => ('frame' in e ? e.frame.code : e.error.reason))).toEqual([0x60, 0x40]);
      expect(reader.pending).toBe(0);
    }
  });

  it('reports a damaged frame and still reads the one behind it', () => {
    const reader = new FrameReader();
    const events = reader.push(Buffer.concat([bytes('53 65 08 00 04 60 60 91'), bytes('53 65 09 00 04 61 00 D9 7A')]));
    expect(events.map((e) => ('frame' in e ? `frame ${e.frame.code.toString(16)}` : e.error.reason))).toEqual(['bad_crc', 'frame 61']);
  });

  it('survives 100,000 random inputs without a crash or a hang, and finds the valid frames among them', () => {
    let seed = 0x2f6b_1d03;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const good = bytes('53 65 09 00 04 61 00 D9 7A');
    const reader = new FrameReader();
    let found = 0;
    for (let i = 0; i < 100_000; i++) {
      const noise = Buffer.alloc(Math.floor(random() * 24), 0);
      for (let k = 0; k < noise.length; k++) noise[k] = random() < 0.2 ? 0x53 : Math.floor(random() * 256);
      for (const event of reader.push(noise)) if ('frame' in event && event.frame.code === 0x61 && event.bytes.equals(good)) found++;
      // Every 100 inputs a valid frame, after garbage that may hold a false SOM and length.
      if (i % 100 === 99) for (const event of reader.push(good)) if ('frame' in event && event.bytes.equals(good)) found++;
      expect(reader.pending).toBeLessThanOrEqual(1440 + 24);
    }
    // A valid frame can be held back while a false length waits for bytes: flush with enough frames to
    // satisfy any false length still pending.
    for (let k = 0; k < 200; k++) for (const event of reader.push(good)) if ('frame' in event && event.bytes.equals(good)) found++;
    // Garbage that happens to pass a one-byte checksum (1 in 256) is taken for a frame and can swallow
    // a good one behind it; the link cannot tell, the control panel's retransmission after a reply
    // timeout recovers it. Here 20 % of the noise is SOM bytes, far worse than a real line.
    expect(found).toBeGreaterThanOrEqual(Math.floor((1000 + 200) * 0.99));
  });
});
