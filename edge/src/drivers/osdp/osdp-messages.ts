/**
 * OSDP v2.2 commands (control panel → peripheral) and replies (peripheral → control panel): codes and
 * the layout of their data. Frames are in osdp-frame.ts; this is what goes inside them.
 */

export const COMMAND = {
  POLL: 0x60,
  ID: 0x61,
  CAP: 0x62,
  LSTAT: 0x64,
  ISTAT: 0x65,
  OSTAT: 0x66,
  OUT: 0x68,
  LED: 0x69,
  BUZ: 0x6a,
  COMSET: 0x6e,
  KEYSET: 0x75,
  CHLNG: 0x76,
  SCRYPT: 0x77,
} as const;

export const REPLY = {
  ACK: 0x40,
  NAK: 0x41,
  PDID: 0x45,
  PDCAP: 0x46,
  LSTATR: 0x48,
  ISTATR: 0x49,
  OSTATR: 0x4a,
  RAW: 0x50,
  KEYPAD: 0x53,
  COM: 0x54,
  CCRYPT: 0x76,
  RMAC_I: 0x78,
  BUSY: 0x79,
} as const;

/** Why a peripheral refused a command (osdp_NAK). */
export const NAK_REASONS: Record<number, string> = {
  1: 'message check (CRC or checksum) failed',
  2: 'command length error',
  3: 'unknown command code',
  4: 'unexpected sequence number',
  5: 'secure channel not supported',
  6: 'secure channel condition not met',
  7: 'biometric type not supported',
  8: 'biometric format not supported',
  9: 'unable to process the command record',
};

export class OsdpMessageError extends Error {
  constructor(
    readonly reason: 'unknown_reply' | 'bad_reply_length',
    message: string,
  ) {
    super(message);
    this.name = 'OsdpMessageError';
  }
}

export type OsdpReply =
  | { kind: 'ack' }
  | { kind: 'nak'; code: number; reason: string }
  | { kind: 'busy' }
  | { kind: 'pdid'; vendor: string; model: number; version: number; serial: number; firmware: string }
  | { kind: 'pdcap'; capabilities: { function: number; compliance: number; count: number }[] }
  | { kind: 'lstat'; tamper: boolean; powerFailure: boolean }
  | { kind: 'istat'; inputs: boolean[] }
  | { kind: 'ostat'; outputs: boolean[] }
  | { kind: 'card'; reader: number; format: number; bits: number; data: Uint8Array }
  | { kind: 'keypad'; reader: number; keys: string }
  | { kind: 'com'; address: number; baud: number }
  | { kind: 'ccrypt'; clientUid: Uint8Array; clientRandom: Uint8Array; clientCryptogram: Uint8Array }
  | { kind: 'rmac_i'; rmac: Uint8Array };

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

function expectLength(name: string, data: Uint8Array, ok: boolean, expected: string): void {
  if (!ok) throw new OsdpMessageError('bad_reply_length', `${name} with ${data.length} data bytes, expected ${expected}`);
}

/** Decodes a reply's data; throws OsdpMessageError naming an unknown code or a wrong length. */
export function decodeReply(code: number, data: Uint8Array): OsdpReply {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (code) {
    case REPLY.ACK:
      return { kind: 'ack' };
    case REPLY.BUSY:
      return { kind: 'busy' };
    case REPLY.NAK: {
      expectLength('osdp_NAK', data, data.length >= 1, 'at least 1');
      const nak = data[0]!;
      return { kind: 'nak', code: nak, reason: NAK_REASONS[nak] ?? `error code ${nak}` };
    }
    case REPLY.PDID:
      expectLength('osdp_PDID', data, data.length === 12, '12');
      return {
        kind: 'pdid',
        vendor: Buffer.from(data.subarray(0, 3)).toString('hex').toUpperCase(),
        model: data[3]!,
        version: data[4]!,
        serial: view.getUint32(5, true),
        firmware: `${data[9]}.${data[10]}.${data[11]}`,
      };
    case REPLY.PDCAP: {
      expectLength('osdp_PDCAP', data, data.length % 3 === 0, 'a multiple of 3');
      const capabilities = [];
      for (let i = 0; i < data.length; i += 3) capabilities.push({ function: data[i]!, compliance: data[i + 1]!, count: data[i + 2]! });
      return { kind: 'pdcap', capabilities };
    }
    case REPLY.LSTATR:
      expectLength('osdp_LSTATR', data, data.length === 2, '2');
      return { kind: 'lstat', tamper: data[0] !== 0, powerFailure: data[1] !== 0 };
    case REPLY.ISTATR:
      return { kind: 'istat', inputs: [...data].map((b) => b !== 0) };
    case REPLY.OSTATR:
      return { kind: 'ostat', outputs: [...data].map((b) => b !== 0) };
    case REPLY.RAW: {
      expectLength('osdp_RAW', data, data.length >= 4, 'at least 4');
      const bits = view.getUint16(2, true);
      const bytes = Math.ceil(bits / 8);
      expectLength('osdp_RAW', data, data.length === 4 + bytes, `4 + ${bytes} for ${bits} bits`);
      return { kind: 'card', reader: data[0]!, format: data[1]!, bits, data: Uint8Array.from(data.subarray(4)) };
    }
    case REPLY.KEYPAD: {
      expectLength('osdp_KEYPAD', data, data.length >= 2 && data.length === 2 + data[1]!, '2 + the digit count');
      // 0x7F is the '#' key and 0x0D the '*' key on readers that send them as control characters.
      // OSDP (SIA OSDP 2.2, osdp_KEYPAD): 0x7F is `*` (clear), 0x0D is `#` (Enter); digits are ASCII.
      const keys = [...data.subarray(2)].map((k) => (k === 0x7f ? '*' : k === 0x0d ? '#' : String.fromCharCode(k))).join('');
      return { kind: 'keypad', reader: data[0]!, keys };
    }
    case REPLY.COM:
      expectLength('osdp_COM', data, data.length === 5, '5');
      return { kind: 'com', address: data[0]!, baud: view.getUint32(1, true) };
    case REPLY.CCRYPT:
      expectLength('osdp_CCRYPT', data, data.length === 32, '32');
      return { kind: 'ccrypt', clientUid: Uint8Array.from(data.subarray(0, 8)), clientRandom: Uint8Array.from(data.subarray(8, 16)), clientCryptogram: Uint8Array.from(data.subarray(16, 32)) };
    case REPLY.RMAC_I:
      expectLength('osdp_RMAC_I', data, data.length === 16, '16');
      return { kind: 'rmac_i', rmac: Uint8Array.from(data) };
    default:
      throw new OsdpMessageError('unknown_reply', `unknown reply code ${hex2(code)} with ${data.length} data bytes`);
  }
}

/** osdp_OUT: one record per output: number, control code (1 off, 2 on, 5/6 timed), timer in 100 ms units. */
export function outputCommand(records: readonly { output: number; control: number; timer100ms: number }[]): Uint8Array {
  const out = Buffer.alloc(records.length * 4);
  records.forEach((r, i) => {
    out[i * 4] = r.output;
    out[i * 4 + 1] = r.control;
    out.writeUInt16LE(r.timer100ms, i * 4 + 2);
  });
  return out;
}

/** osdp_OUT control codes. */
export const OUTPUT_CONTROL = { permanentOff: 1, permanentOn: 2, temporaryOnThenOff: 5, temporaryOffThenOn: 6 } as const;

/** osdp_LED colours. */
export const LED_COLOR = { off: 0, red: 1, green: 2, amber: 3, blue: 4 } as const;

/** osdp_LED: a temporary pattern (on/off in 100 ms units, for `timer100ms`) over the permanent colour. */
export function ledCommand(r: { reader: number; led: number; temporary?: { onColor: number; offColor: number; on100ms: number; off100ms: number; timer100ms: number }; permanentColor: number }): Uint8Array {
  const out = Buffer.alloc(14);
  out[0] = r.reader;
  out[1] = r.led;
  if (r.temporary) {
    out[2] = 2; // set the temporary state
    out[3] = r.temporary.on100ms;
    out[4] = r.temporary.off100ms;
    out[5] = r.temporary.onColor;
    out[6] = r.temporary.offColor;
    out.writeUInt16LE(r.temporary.timer100ms, 7);
  }
  out[9] = 1; // set the permanent state
  out[10] = 1; // on time
  out[11] = 0; // off time
  out[12] = r.permanentColor;
  out[13] = r.permanentColor;
  return out;
}

/** osdp_BUZ: tone 2 (default), on/off in 100 ms units, repeated `count` times (0 = until told otherwise). */
export function buzzerCommand(r: { reader: number; on100ms: number; off100ms: number; count: number }): Uint8Array {
  return Uint8Array.of(r.reader, 2, r.on100ms, r.off100ms, r.count);
}

/** osdp_COMSET: a new address and baud rate. */
export function comsetCommand(address: number, baud: number): Uint8Array {
  const out = Buffer.alloc(5);
  out[0] = address;
  out.writeUInt32LE(baud, 1);
  return out;
}

/**
 * A card number for logs and payloads: never the whole credential. Keeps the last four hex digits, as a
 * guard needs to tell two cards apart at a glance.
 */
export function maskCredential(data: Uint8Array): string {
  const digits = Buffer.from(data).toString('hex').toUpperCase();
  return digits.length <= 4 ? '*'.repeat(digits.length) : `${'*'.repeat(digits.length - 4)}${digits.slice(-4)}`;
}
