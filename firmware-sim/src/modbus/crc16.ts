/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), as RTU frames carry it, low byte first. */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export function withCrc(frame: Buffer): Buffer {
  const out = Buffer.alloc(frame.length + 2);
  frame.copy(out);
  out.writeUInt16LE(crc16Modbus(frame), frame.length);
  return out;
}

export function hasValidCrc(frame: Buffer): boolean {
  return frame.length >= 4 && crc16Modbus(frame.subarray(0, -2)) === frame.readUInt16LE(frame.length - 2);
}
