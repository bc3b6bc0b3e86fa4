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
  data: Buffer;
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
      // The simulated peripheral takes no security block: it answers that with NAK 5 (see the peripheral).
      const dataStart = ctrl & 0x08 ? 5 + frame[5]! : 5;
      events.push({ command: { address, sequence, useCrc, code: frame[dataStart]!, data: Buffer.from(frame.subarray(dataStart + 1, length - (useCrc ? 2 : 1))) } });
    }
  }
}

/** A reply frame from peripheral `address`, echoing the command's sequence number and check mode. */
export function replyFrame(address: number, sequence: number, useCrc: boolean, code: number, data: Uint8Array = new Uint8Array()): Buffer {
  const length = 5 + 1 + data.length + (useCrc ? 2 : 1);
  const frame = Buffer.alloc(length);
  frame[0] = SOM;
  frame[1] = (address & 0x7f) | 0x80;
  frame.writeUInt16LE(length, 2);
  frame[4] = (sequence & 0x03) | (useCrc ? 0x04 : 0);
  frame[5] = code;
  frame.set(data, 6);
  if (useCrc) frame.writeUInt16LE(crc16(frame, length - 2), length - 2);
  else frame[length - 1] = checksum(frame, length - 1);
  return frame;
}
