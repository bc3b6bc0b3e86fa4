import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { COMMAND, crc16AugCcitt, decodeReply, derivePeripheralKey, OsdpLink, OsdpSecureChannelError, OUTPUT_CONTROL, outputCommand, REPLY, SCBK_D, type SecureChannelSettings } from '@gatehouse/edge';
import { SimulatedPeripheral } from '@gatehouse/firmware-sim';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const RND_A = hex('B0 B1 B2 B3 B4 B5 B6 B7'); // SIA Annex E
const RND_B = hex('A0 A1 A2 A3 A4 A5 A6 A7'); // SIA Annex E
const ADDRESS = 0x65;
const CARD = hex('12 34 56 40');
const MASTER_KEY = hex('000102030405060708090a0b0c0d0e0f');

/**
 * A control panel's link to a simulated peripheral through an in-process line, with a hook on every
 * frame the peripheral sends back (to record, damage or lose it).
 */
function line(peripheral: SimulatedPeripheral, secure: SecureChannelSettings | undefined, onReply: (frame: Buffer) => Buffer | undefined = (f) => f, onCommand: (frame: Buffer) => Buffer = (f) => f) {
  const toPeripheral = new PassThrough();
  const panelSide = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      toPeripheral.write(onCommand(Buffer.from(chunk)));
      done();
    },
  });
  const peripheralSide = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      const passed = onReply(Buffer.from(chunk));
      if (passed) panelSide.push(passed);
      done();
    },
  });
  toPeripheral.on('data', (chunk: Buffer) => peripheralSide.push(chunk));
  peripheral.attach(peripheralSide);
  const secureEvents: string[] = [];
  const badFrames: string[] = [];
  const link = new OsdpLink(panelSide, {
    replyTimeoutMs: 50,
    retries: 2,
    ...(secure ? { secureChannels: new Map([[ADDRESS, secure]]) } : {}),
    onSecureChannel: (_address, what) => secureEvents.push(what),
    onBadFrame: (reason) => badFrames.push(reason),
  });
  return { link, secureEvents, badFrames };
}

/** The code and security block type of a reply on the wire (after the mark byte). */
function replyCode(frame: Buffer): { code: number; block: number | undefined; data: Buffer } {
  const bytes = frame[0] === 0xff ? frame.subarray(1) : frame;
  const secured = (bytes[4]! & 0x08) !== 0;
  const start = secured ? 5 + bytes[5]! : 5;
  return { code: bytes[start]!, block: secured ? bytes[6] : undefined, data: bytes.subarray(start + 1, bytes.length - 2) };
}

/** Damages one byte before the MAC and fixes the CRC, as someone on the line would. */
function tamper(frame: Buffer, offsetFromEnd: number): Buffer {
  const out = Buffer.from(frame);
  out[out.length - offsetFromEnd]! ^= 0x01;
  out.writeUInt16LE(crc16AugCcitt(out, 1, out.length - 2), out.length - 2);
  return out;
}

describe('OSDP secure channel between the control panel and the simulated peripheral', () => {
  it('hands over the SIA Annex E cryptogram and initial R-MAC on the wire, each side computing its own', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, secureChannel: { baseKey: SCBK_D, random: () => RND_B } });
    const replies: Buffer[] = [];
    const { link } = line(peripheral, { scbk: SCBK_D, random: () => RND_A }, (f) => (replies.push(f), f));
    expect((await link.send(ADDRESS, COMMAND.POLL)).code).toBe(REPLY.ACK);
    const ccrypt = replyCode(replies[0]!);
    expect(ccrypt.code).toBe(REPLY.CCRYPT);
    expect(ccrypt.block).toBe(0x12);
    expect(ccrypt.data.toString('hex')).toBe(Buffer.concat([peripheral.clientUid, RND_B, hex('fde5d2f428ec16312471ea3c02bd7796')]).toString('hex'));
    const rmacI = replyCode(replies[1]!);
    expect([rmacI.code, rmacI.block]).toEqual([REPLY.RMAC_I, 0x14]);
    expect(rmacI.data.toString('hex')).toBe('b2a30057eb98ba2229ec1f875662b524');
    // The POLL went secured and its ACK came back with a MAC (SCS_16).
    expect(replyCode(replies[2]!)).toMatchObject({ code: REPLY.ACK, block: 0x16 });
    expect(peripheral.secured).toBe(true);
  });

  it('installs a factory-fresh peripheral: SCBK-D, osdp_KEYSET with its key derived from the master key, then secured with it', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, serial: 0x0badcafe, secureChannel: {} });
    const { link, secureEvents } = line(peripheral, { masterKey: MASTER_KEY, install: true });
    const id = await link.send(ADDRESS, COMMAND.ID, Uint8Array.of(0));
    expect(decodeReply(id.code, id.data)).toMatchObject({ kind: 'pdid', serial: 0x0badcafe });
    expect(peripheral.installedKey?.toString('hex')).toBe(derivePeripheralKey(MASTER_KEY, peripheral.clientUid).toString('hex'));
    expect(secureEvents).toEqual(['established', 'key_installed', 'established']);
    expect(link.isSecured(ADDRESS)).toBe(true);
    // Without install mode, a panel holding only SCBK-D is now refused by the peripheral.
    const { link: defaultKeyLink } = line(peripheral, { scbk: SCBK_D });
    await expect(defaultKeyLink.send(ADDRESS, COMMAND.POLL)).rejects.toThrow(/proved a different key than the one configured/);
  });

  it('carries card data encrypted, checks every MAC, and drives the strike inside the channel', async () => {
    const key = derivePeripheralKey(MASTER_KEY, hex('5c26230178563412'));
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, serial: 0x12345678, secureChannel: { baseKey: key, required: true } });
    const replies: Buffer[] = [];
    const { link } = line(peripheral, { masterKey: MASTER_KEY }, (f) => (replies.push(f), f));
    await link.send(ADDRESS, COMMAND.POLL);
    peripheral.presentCard(CARD, 32);
    const card = await link.send(ADDRESS, COMMAND.POLL);
    expect(decodeReply(card.code, card.data)).toMatchObject({ kind: 'card', bits: 32, data: Uint8Array.from(CARD) });
    const onWire = replies.at(-1)!;
    expect(replyCode(onWire)).toMatchObject({ code: REPLY.RAW, block: 0x18 });
    expect(onWire.includes(CARD)).toBe(false);
    expect((await link.send(ADDRESS, COMMAND.OUT, outputCommand([{ output: 0, control: OUTPUT_CONTROL.temporaryOnThenOff, timer100ms: 20 }]))).code).toBe(REPLY.ACK);
    expect(peripheral.strikeEnergised).toBe(true);
    expect(peripheral.received.at(-1)?.data).toEqual(Buffer.from([0, 5, 20, 0]));
    expect(peripheral.securityRefusals).toBe(0);
    // A panel that does not secure the line is refused by this peripheral.
    const { link: plainLink } = line(peripheral, undefined);
    const refused = await plainLink.send(ADDRESS, COMMAND.POLL);
    expect(decodeReply(refused.code, refused.data)).toMatchObject({ kind: 'nak', code: 6 });
  });

  it('refuses a peripheral that proves a different key, naming it', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, secureChannel: { baseKey: hex('ff'.repeat(16)) } });
    const { link } = line(peripheral, { scbk: hex('00'.repeat(16)) });
    const error = await link.send(ADDRESS, COMMAND.POLL).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OsdpSecureChannelError);
    expect((error as OsdpSecureChannelError).reason).toBe('bad_cryptogram');
    expect((error as Error).message).toMatch(/^peripheral 101 \(cUID 5c262301eeffc000\) proved a different key than the one configured$/);
  });

  it('secures the line again after the peripheral restarted and lost the session', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, secureChannel: { baseKey: SCBK_D, required: true } });
    const { link, secureEvents } = line(peripheral, { scbk: SCBK_D });
    await link.send(ADDRESS, COMMAND.POLL);
    peripheral.restart();
    peripheral.presentCard(CARD, 32);
    const card = await link.send(ADDRESS, COMMAND.POLL);
    expect(decodeReply(card.code, card.data)).toMatchObject({ kind: 'card', data: Uint8Array.from(CARD) });
    expect(secureEvents).toEqual(['established', 'established']);
  });

  it('never hands on a reply whose MAC does not check, and secures the line again', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, secureChannel: { baseKey: SCBK_D } });
    let damageNext = false;
    const { link, secureEvents } = line(peripheral, { scbk: SCBK_D }, (frame) => {
      if (!damageNext || replyCode(frame).code !== REPLY.RAW) return frame;
      damageNext = false;
      return tamper(frame, 8); // a byte of the encrypted card data
    });
    await link.send(ADDRESS, COMMAND.POLL);
    damageNext = true;
    peripheral.presentCard(CARD, 32);
    const error = await link.send(ADDRESS, COMMAND.POLL).catch((err: unknown) => err);
    expect((error as OsdpSecureChannelError).reason).toBe('bad_mac');
    expect(link.isSecured(ADDRESS)).toBe(false);
    expect((await link.send(ADDRESS, COMMAND.POLL)).code).toBe(REPLY.ACK);
    expect(secureEvents).toEqual(['established', 'established']);
  });

  it('sends a secured command again with the same bytes when its reply is lost: the card read arrives once', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, secureChannel: { baseKey: SCBK_D } });
    let loseNext = false;
    const { link, secureEvents } = line(peripheral, { scbk: SCBK_D }, (frame) => {
      if (loseNext && replyCode(frame).code === REPLY.RAW) {
        loseNext = false;
        return undefined;
      }
      return frame;
    });
    await link.send(ADDRESS, COMMAND.POLL);
    loseNext = true;
    peripheral.presentCard(CARD, 32);
    const card = await link.send(ADDRESS, COMMAND.POLL);
    expect(decodeReply(card.code, card.data)).toMatchObject({ kind: 'card', data: Uint8Array.from(CARD) });
    expect(decodeReply(...codeAndData(await link.send(ADDRESS, COMMAND.POLL)))).toEqual({ kind: 'ack' });
    expect(peripheral.received.filter((r) => r.code === COMMAND.POLL)).toHaveLength(3);
    expect(secureEvents).toEqual(['established']);
  });

  it('sends a secured command damaged on the line again unchanged (NAK 1), without dropping the session', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, secureChannel: { baseKey: SCBK_D } });
    let damageNext = false;
    const sent: Buffer[] = [];
    const { link, secureEvents } = line(peripheral, { scbk: SCBK_D }, (f) => f, (frame) => {
      sent.push(frame);
      if (!damageNext) return frame;
      damageNext = false;
      const damaged = Buffer.from(frame);
      damaged[damaged.length - 3]! ^= 0x40; // a MAC byte: the CRC no longer matches
      return damaged;
    });
    await link.send(ADDRESS, COMMAND.POLL);
    damageNext = true;
    const before = sent.length;
    expect((await link.send(ADDRESS, COMMAND.OUT, outputCommand([{ output: 0, control: OUTPUT_CONTROL.temporaryOnThenOff, timer100ms: 10 }]))).code).toBe(REPLY.ACK);
    // The same bytes twice: the damaged try and the resend.
    expect(sent.slice(before)).toHaveLength(2);
    expect(sent[before]).toEqual(sent[before + 1]);
    expect(peripheral.strikeEnergised).toBe(true);
    expect(secureEvents).toEqual(['established']);
  });

  it('refuses a replayed reply: another sequence number is ignored, the same one fails its MAC', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS, secureChannel: { baseKey: SCBK_D } });
    const seen: Buffer[] = [];
    let inject: Buffer | undefined;
    let substitute: Buffer | undefined;
    const { link, badFrames } = line(peripheral, { scbk: SCBK_D }, (frame) => {
      seen.push(frame);
      if (substitute) {
        const old = substitute;
        substitute = undefined;
        return old;
      }
      if (inject) {
        const old = inject;
        inject = undefined;
        return Buffer.concat([old, frame]);
      }
      return frame;
    });
    // The handshake takes sequences 0 and 1; three secured POLLs then go with 2, 3 and 1.
    for (let i = 0; i < 3; i++) await link.send(ADDRESS, COMMAND.POLL);
    const ackOfSequence = (n: number) => seen.find((f) => ((f[0] === 0xff ? f[5] : f[4])! & 0x03) === n && replyCode(f).code === REPLY.ACK)!;
    // The next POLL awaits sequence 2: an old reply with sequence 3 arriving first matches no command.
    inject = ackOfSequence(3);
    expect((await link.send(ADDRESS, COMMAND.POLL)).code).toBe(REPLY.ACK);
    expect(badFrames).toEqual(['unexpected_reply']);
    // The next awaits sequence 3, and the old reply with sequence 3 takes the real one's place: right
    // sequence number, valid CRC, but its MAC is chained to another command.
    substitute = ackOfSequence(3);
    const error = await link.send(ADDRESS, COMMAND.POLL).catch((err: unknown) => err);
    expect((error as OsdpSecureChannelError).reason).toBe('bad_mac');
    expect(link.isSecured(ADDRESS)).toBe(false);
  });

  it('is refused by a peripheral without a secure channel, with the reason', async () => {
    const peripheral = new SimulatedPeripheral({ address: ADDRESS });
    const { link } = line(peripheral, { scbk: SCBK_D });
    await expect(link.send(ADDRESS, COMMAND.POLL)).rejects.toThrow('peripheral 101 answered the challenge with reply 0x41 (NAK 5), not osdp_CCRYPT');
  });
});

function codeAndData(frame: { code: number; data: Uint8Array }): [number, Uint8Array] {
  return [frame.code, frame.data];
}
