import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMAND, decodeReply, OsdpLink, OsdpTimeoutError, OUTPUT_CONTROL, outputCommand, REPLY } from '@gatehouse/edge';
import { CommandStream, SimulatedPeripheral, replyFrame } from '@gatehouse/firmware-sim';

const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('OSDP control panel ↔ simulated peripheral over TCP', () => {
  let peripheral: SimulatedPeripheral;
  let server: Awaited<ReturnType<SimulatedPeripheral['listen']>>;
  let socket: Socket;
  let link: OsdpLink;
  const badFrames: string[] = [];

  beforeEach(async () => {
    peripheral = new SimulatedPeripheral({ address: 0x65, serial: 0x12345678 });
    server = await peripheral.listen();
    socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    badFrames.length = 0;
    link = new OsdpLink(socket, { replyTimeoutMs: 100, onBadFrame: (reason) => badFrames.push(reason) });
  });

  afterEach(async () => {
    socket.destroy();
    await server.close();
  });

  it('identifies the peripheral and reads its capabilities and status', async () => {
    const id = await link.send(0x65, COMMAND.ID, Uint8Array.of(0));
    expect(decodeReply(id.code, id.data)).toMatchObject({ kind: 'pdid', vendor: '5C2623', serial: 0x12345678, firmware: '1.4.0' });
    const cap = await link.send(0x65, COMMAND.CAP, Uint8Array.of(0));
    expect(decodeReply(cap.code, cap.data)).toMatchObject({ kind: 'pdcap' });
    expect(decodeReply(...codeAndData(await link.send(0x65, COMMAND.LSTAT)))).toEqual({ kind: 'lstat', tamper: false, powerFailure: false });
    expect(decodeReply(...codeAndData(await link.send(0x65, COMMAND.POLL)))).toEqual({ kind: 'ack' });
  });

  it('delivers card reads, keypad entries, door and tamper changes on POLL, in order', async () => {
    peripheral.presentCard(bytes('12 34 56 40'), 26);
    peripheral.setDoorOpen(true);
    peripheral.pressKeys('1234#');
    peripheral.setTamper(true);
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(decodeReply(...codeAndData(await link.send(0x65, COMMAND.POLL))));
    expect(replies.map((r) => r.kind)).toEqual(['card', 'istat', 'keypad', 'lstat', 'ack']);
    expect(replies[0]).toMatchObject({ bits: 26, data: Uint8Array.from(bytes('12 34 56 40')) });
  });

  it('opens the door strike for a timed pulse', async () => {
    const changes: boolean[] = [];
    peripheral.onStrike = (on) => changes.push(on);
    const ack = await link.send(0x65, COMMAND.OUT, outputCommand([{ output: 0, control: OUTPUT_CONTROL.temporaryOnThenOff, timer100ms: 2 }]));
    expect(ack.code).toBe(REPLY.ACK);
    expect(peripheral.strikeEnergised).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes).toEqual([true, false]);
  });

  it('sends a command again when the peripheral does not answer, and gives up loudly after the retries', async () => {
    peripheral.goSilent(150);
    expect((await link.send(0x65, COMMAND.POLL)).code).toBe(REPLY.ACK);
    peripheral.goSilent(10_000);
    await expect(link.send(0x65, COMMAND.POLL)).rejects.toThrow(OsdpTimeoutError);
  });

  it('starts over from sequence 0 when the peripheral lost track (NAK 4)', async () => {
    await link.send(0x65, COMMAND.POLL);
    await link.send(0x65, COMMAND.POLL);
    // The peripheral restarts (power cycle): it expects sequence 0 again and NAKs the next one.
    peripheral.restart();
    expect((await link.send(0x65, COMMAND.POLL)).code).toBe(REPLY.ACK);
    expect(peripheral.received.slice(-1)[0]?.code).toBe(COMMAND.POLL);
  });

  it('ignores garbage and damaged frames on the line, counting them, and still gets its replies', async () => {
    socket.emit('data', bytes('00 53 65 08 00 04 60 60 91 17'));
    expect((await link.send(0x65, COMMAND.POLL)).code).toBe(REPLY.ACK);
    expect(badFrames).toContain('bad_crc');
  });
});

describe('the simulated peripheral on its own', () => {
  it('answers a repeated sequence number with its last reply, byte for byte: a lost card read comes again', () => {
    const peripheral = new SimulatedPeripheral({ address: 1 });
    peripheral.handle({ address: 1, sequence: 0, useCrc: true, code: 0x60, data: Buffer.alloc(0) });
    peripheral.presentCard(bytes('AA BB CC DD'));
    const first = peripheral.handle({ address: 1, sequence: 1, useCrc: true, code: 0x60, data: Buffer.alloc(0) });
    const again = peripheral.handle({ address: 1, sequence: 1, useCrc: true, code: 0x60, data: Buffer.alloc(0) });
    expect(again).toEqual(first);
    expect(first?.[5]).toBe(0x50);
    // The next sequence number moves on: the card is not reported twice.
    expect(peripheral.handle({ address: 1, sequence: 2, useCrc: true, code: 0x60, data: Buffer.alloc(0) })?.[5]).toBe(0x40);
    // A skipped sequence number is refused with NAK 4.
    expect(peripheral.handle({ address: 1, sequence: 1, useCrc: true, code: 0x60, data: Buffer.alloc(0) })).toEqual(replyFrame(1, 1, true, 0x41, Uint8Array.of(4)));
  });

  it('reads the commands of a stream, and reports one whose check failed so it can be refused', () => {
    const wire = new CommandStream();
    expect(wire.push(bytes('FF 53 65 08 00 04 60 60 90'))).toEqual([{ command: { address: 0x65, sequence: 0, useCrc: true, code: 0x60, data: Buffer.alloc(0), frame: bytes('53 65 08 00 04 60 60 90') } }]);
    expect(wire.push(bytes('53 65 08 00 04 60 60 91'))).toEqual([{ badCheck: { address: 0x65, sequence: 0, useCrc: true } }]);
    const peripheral = new SimulatedPeripheral({ address: 0x65 });
    expect(peripheral.handleBadCheck({ address: 0x65, sequence: 0, useCrc: true })).toEqual(replyFrame(0x65, 0, true, 0x41, Uint8Array.of(1)));
  });
});

function codeAndData(frame: { code: number; data: Uint8Array }): [number, Uint8Array] {
  return [frame.code, frame.data];
}
