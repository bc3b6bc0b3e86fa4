import { describe, expect, it } from 'vitest';
import { comsetCommand, decodeReply, encodeFrame, maskCredential, outputCommand, OsdpMessageError, REPLY, COMMAND, OUTPUT_CONTROL } from '@gatehouse/edge';

const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('OSDP replies', () => {
  it('decodes the replies a control panel acts on', () => {
    expect(decodeReply(REPLY.ACK, new Uint8Array())).toEqual({ kind: 'ack' });
    expect(decodeReply(REPLY.NAK, Uint8Array.of(4))).toEqual({ kind: 'nak', code: 4, reason: 'unexpected sequence number' });
    expect(decodeReply(REPLY.PDID, bytes('5C 26 23 01 02 78 56 34 12 02 05 01'))).toEqual({ kind: 'pdid', vendor: '5C2623', model: 1, version: 2, serial: 0x12345678, firmware: '2.5.1' });
    expect(decodeReply(REPLY.PDCAP, bytes('01 02 04 04 04 01'))).toEqual({ kind: 'pdcap', capabilities: [{ function: 1, compliance: 2, count: 4 }, { function: 4, compliance: 4, count: 1 }] });
    expect(decodeReply(REPLY.LSTATR, bytes('01 00'))).toEqual({ kind: 'lstat', tamper: true, powerFailure: false });
    expect(decodeReply(REPLY.ISTATR, bytes('00 01 00'))).toEqual({ kind: 'istat', inputs: [false, true, false] });
    // A 26-bit Wiegand card: 4 bytes of data.
    expect(decodeReply(REPLY.RAW, bytes('00 01 1A 00 12 34 56 40'))).toEqual({ kind: 'card', reader: 0, format: 1, bits: 26, data: Uint8Array.from(bytes('12 34 56 40')) });
    // 0x0D is `#` (Enter), 0x7F is `*` (clear).
    expect(decodeReply(REPLY.KEYPAD, bytes('00 05 31 32 33 34 0D'))).toEqual({ kind: 'keypad', reader: 0, keys: '1234#' });
    expect(decodeReply(REPLY.KEYPAD, bytes('00 02 7F 39'))).toEqual({ kind: 'keypad', reader: 0, keys: '*9' });
  });

  it('refuses an unknown reply code and a wrong length, naming them', () => {
    expect(() => decodeReply(0x3f, Uint8Array.of(1, 2))).toThrow(new OsdpMessageError('unknown_reply', 'unknown reply code 0x3f with 2 data bytes'));
    expect(() => decodeReply(REPLY.RAW, bytes('00 01 1A 00 12 34'))).toThrow(new OsdpMessageError('bad_reply_length', 'osdp_RAW with 6 data bytes, expected 4 + 4 for 26 bits'));
    expect(() => decodeReply(REPLY.PDID, bytes('00'))).toThrow('osdp_PDID with 1 data bytes, expected 12');
  });

  it('never decodes into a crash, whatever the data', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const codes = Object.values(REPLY);
    for (let i = 0; i < 100_000; i++) {
      const data = Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
      const code = random() < 0.9 ? codes[Math.floor(random() * codes.length)]! : Math.floor(random() * 256);
      try {
        decodeReply(code, data);
      } catch (err) {
        expect(err).toBeInstanceOf(OsdpMessageError);
      }
    }
  });
});

describe('OSDP commands', () => {
  it('lays out OUT and COMSET as the standard says', () => {
    // Door strike (output 0) on for 5 s.
    expect(Buffer.from(outputCommand([{ output: 0, control: OUTPUT_CONTROL.temporaryOnThenOff, timer100ms: 50 }])).toString('hex')).toBe('00053200');
    // The SIA Annex E COMSET: address 0, 9600 baud, broadcast.
    const frame = encodeFrame({ address: 0x7f, reply: false, sequence: 0, useCrc: true, code: COMMAND.COMSET, data: comsetCommand(0, 9600) });
    expect(frame.toString('hex')).toBe('537f0d00046e00802500006e38');
  });

  it('masks a credential to its last four digits', () => {
    expect(maskCredential(bytes('12 34 56 40'))).toBe('****5640');
    expect(maskCredential(bytes('AB'))).toBe('**');
  });
});
