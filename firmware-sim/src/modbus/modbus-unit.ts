/**
 * The contract between a simulated device and the Modbus servers that carry its frames: the server
 * parses requests and frames answers; the unit decides what to answer (or not to answer at all).
 */
export type ReadFunctionCode = 1 | 2 | 3 | 4;

export type UnitAnswer =
  | { kind: 'data'; values: number[] }
  | { kind: 'exception'; code: number }
  /** the device stays silent: the client times out */
  | { kind: 'silent' };

/** How the next answer is damaged on the wire, to test what a gateway makes of bad frames. */
export type FrameDamage = 'garbage' | 'short_frame' | 'wrong_unit' | 'bad_crc';

export interface ModbusUnit {
  readonly unitId: number;
  /** Answers a read; `values` are 16-bit words for FC 3/4 and 0/1 bits for FC 1/2. */
  read(fc: ReadFunctionCode, address: number, length: number): UnitAnswer;
  /** Extra delay before the answer goes out (slow device), ms. */
  answerDelayMs(): number;
  /** Damage to apply to the next answer's frame, if any. */
  takeFrameDamage(): FrameDamage | undefined;
}

export const EXCEPTION = { ILLEGAL_FUNCTION: 1, ILLEGAL_DATA_ADDRESS: 2, ILLEGAL_DATA_VALUE: 3, GATEWAY_TARGET_FAILED: 11 } as const;

const MAX_REGISTERS = 125;
const MAX_BITS = 2000;

/** Parses a request PDU and builds the answer PDU; undefined means no answer. */
export function answerPdu(unit: ModbusUnit, pdu: Buffer): Buffer | undefined {
  const fc = pdu[0] ?? 0;
  const exception = (code: number) => Buffer.from([fc | 0x80, code]);
  if (fc < 1 || fc > 4) return exception(EXCEPTION.ILLEGAL_FUNCTION);
  if (pdu.length !== 5) return exception(EXCEPTION.ILLEGAL_DATA_VALUE);
  const address = pdu.readUInt16BE(1);
  const length = pdu.readUInt16BE(3);
  const isBits = fc <= 2;
  if (length < 1 || length > (isBits ? MAX_BITS : MAX_REGISTERS)) return exception(EXCEPTION.ILLEGAL_DATA_VALUE);
  if (address + length > 0x10000) return exception(EXCEPTION.ILLEGAL_DATA_ADDRESS);

  const answer = unit.read(fc as ReadFunctionCode, address, length);
  if (answer.kind === 'silent') return undefined;
  if (answer.kind === 'exception') return exception(answer.code);
  if (isBits) {
    const bytes = Buffer.alloc(Math.ceil(length / 8));
    answer.values.forEach((bit, i) => {
      if (bit) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (1 << (i & 7));
    });
    return Buffer.concat([Buffer.from([fc, bytes.length]), bytes]);
  }
  const body = Buffer.alloc(2 + length * 2);
  body[0] = fc;
  body[1] = length * 2;
  answer.values.forEach((word, i) => body.writeUInt16BE(word & 0xffff, 2 + i * 2));
  return body;
}

/** Replaces a well-formed answer PDU with a damaged one. Returns the PDU and the unit id to put on it. */
export function damagePdu(pdu: Buffer, unitId: number, damage: FrameDamage): { pdu: Buffer; unitId: number } {
  switch (damage) {
    case 'garbage':
      return { pdu: Buffer.from([0x47, 0x41, 0x52, 0x42, 0x41, 0x47, 0x45]), unitId };
    case 'short_frame':
      return { pdu: pdu.subarray(0, Math.max(2, Math.floor(pdu.length / 2))), unitId };
    case 'wrong_unit':
      return { pdu, unitId: (unitId % 247) + 1 };
    case 'bad_crc':
      // Only meaningful on RTU; the RTU server corrupts the checksum itself.
      return { pdu, unitId };
  }
}
