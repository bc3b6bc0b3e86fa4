/**
 * The simulated peripheral's own reading and writing of OSDP frames. It deliberately shares no code
 * with the gateway's control panel (edge/src/drivers/osdp/), so that a mistake on one side shows up as
 * a failure between them instead of agreeing with itself; both are held to the published vectors.
 */

const SOM = 0x53;

function crc16(bytes: Uint8Array, end: number): number {
  let crc = 0x1d0f;
  for (let i = 0; i < end; i++) {
    crc ^= bytes[i]! << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function checksum(bytes: Uint8Array, end: number): number {
  let sum = 0;
  for (let i = 0; i < end; i++) sum += bytes[i]!;
  return -sum & 0xff;
}

export interface WireCommand {
  address: number;
  sequence: number;
  useCrc: boolean;
  code: number;
  /** the data after the code, before any MAC (encrypted when the security block says so) */
  data: Buffer;
  /** security control block type and data, when the command carries one */
  securityBlock?: { type: number; data: Buffer };
  /** the 4-byte MAC of a secured command */
  mac?: Buffer;
  /** the whole frame as received, for MAC checks */
  frame?: Buffer;
}

export type WireEvent = { command: WireCommand } | { badCheck: { address: number; sequence: number; useCrc: boolean } } | { garbage: number };

/** Splits a byte stream into commands; a command failing its check is reported so the peripheral can NAK it. */
export class CommandStream {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): WireEvent[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const events: WireEvent[] = [];
    for (;;) {
      const start = this.buffer.indexOf(SOM);
      if (start < 0) {
        if (this.buffer.length > 0) events.push({ garbage: this.buffer.length });
        this.buffer = Buffer.alloc(0);
        return events;
      }
      if (start > 0 && this.buffer.subarray(0, start).some((b) => b !== 0xff)) events.push({ garbage: start });
      this.buffer = this.buffer.subarray(start);
      if (this.buffer.length < 4) return events;
      const length = this.buffer.readUInt16LE(2);
      if (length < 7 || length > 1440) {
        events.push({ garbage: 1 });
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      if (this.buffer.length < length) return events;
      const frame = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      const ctrl = frame[4]!;
      const useCrc = (ctrl & 0x04) !== 0;
      const ok = useCrc ? crc16(frame, length - 2) === frame.readUInt16LE(length - 2) : checksum(frame, length - 1) === frame[length - 1];
      const address = frame[1]! & 0x7f;
      const sequence = ctrl & 0x03;
      if (!ok) {
        events.push({ badCheck: { address, sequence, useCrc } });
        continue;
      }
      const secured = (ctrl & 0x08) !== 0;
      const blockLength = secured ? frame[5]! : 0;
      const dataStart = 5 + blockLength;
      const blockType = secured ? frame[6]! : 0;
      const macLength = secured && blockType >= 0x15 && blockType <= 0x18 ? 4 : 0;
      const dataEnd = length - (useCrc ? 2 : 1) - macLength;
      if ((secured && blockLength < 2) || dataEnd < dataStart + 1) {
        events.push({ badCheck: { address, sequence, useCrc } });
        continue;
      }
      const command: WireCommand = { address, sequence, useCrc, code: frame[dataStart]!, data: Buffer.from(frame.subarray(dataStart + 1, dataEnd)), frame: Buffer.from(frame) };
      if (secured) command.securityBlock = { type: blockType, data: Buffer.from(frame.subarray(7, 5 + blockLength)) };
      if (macLength) command.mac = Buffer.from(frame.subarray(dataEnd, dataEnd + 4));
      events.push({ command });
    }
  }
}

export interface ReplySecurity {
  block: { type: number; data: Uint8Array };
  /** computes the MAC over the frame up to its last data byte; absent for handshake replies */
  mac?: (frameBeforeMac: Buffer) => Buffer;
}

/** A reply frame from peripheral `address`, echoing the command's sequence number and check mode. */
export function replyFrame(address: number, sequence: number, useCrc: boolean, code: number, data: Uint8Array = new Uint8Array(), security?: ReplySecurity): Buffer {
  const blockLength = security ? 2 + security.block.data.length : 0;
  const macLength = security?.mac ? 4 : 0;
  const length = 5 + blockLength + 1 + data.length + macLength + (useCrc ? 2 : 1);
  const frame = Buffer.alloc(length);
  frame[0] = SOM;
  frame[1] = (address & 0x7f) | 0x80;
  frame.writeUInt16LE(length, 2);
  frame[4] = (sequence & 0x03) | (useCrc ? 0x04 : 0) | (security ? 0x08 : 0);
  let at = 5;
  if (security) {
    frame[at++] = blockLength;
    frame[at++] = security.block.type;
    frame.set(security.block.data, at);
    at += security.block.data.length;
  }
  frame[at++] = code;
  frame.set(data, at);
  at += data.length;
  if (security?.mac) security.mac(frame.subarray(0, at)).copy(frame, at, 0, 4);
  if (useCrc) frame.writeUInt16LE(crc16(frame, length - 2), length - 2);
  else frame[length - 1] = checksum(frame, length - 1);
  return frame;
}
