import { timingSafeEqual } from 'node:crypto';
import { crc16AugCcitt, checksum8 } from './osdp-checks.js';
import { encodeFrame, type OsdpFrame, type Sequence } from './osdp-frame.js';
import { decryptData, encryptData, invert, messageMac, type SessionKeys } from './osdp-secure-channel.js';

/** Security control block types (SIA OSDP v2.2, Annex D). */
export const SCS = {
  /** CP → PD osdp_CHLNG: data byte 1 = use the peripheral's SCBK, 0 = SCBK-D */
  CHLNG: 0x11,
  /** PD → CP osdp_CCRYPT */
  CCRYPT: 0x12,
  /** CP → PD osdp_SCRYPT */
  SCRYPT: 0x13,
  /** PD → CP osdp_RMAC_I: data byte 1 = the CP's cryptogram was accepted */
  RMAC_I: 0x14,
  /** CP → PD secured, data (if any) in the clear */
  COMMAND_MAC: 0x15,
  /** PD → CP secured, data (if any) in the clear */
  REPLY_MAC: 0x16,
  /** CP → PD secured, data encrypted */
  COMMAND_ENCRYPTED: 0x17,
  /** PD → CP secured, data encrypted */
  REPLY_ENCRYPTED: 0x18,
} as const;

export class OsdpSecureChannelError extends Error {
  constructor(
    /** short machine-readable reason, the label of the rejection metric */
    readonly reason: 'bad_mac' | 'bad_cryptogram' | 'handshake_refused' | 'not_secured' | 'bad_padding',
    message: string,
  ) {
    super(message);
    this.name = 'OsdpSecureChannelError';
  }
}

/**
 * One established secure channel with one peripheral: the session keys and the MAC chain. Every
 * secured command is chained to the peripheral's last reply MAC (the initial R-MAC for the first), and
 * every reply to the command's MAC; the encryption IV of a message is the inverse of the MAC it is
 * chained to. A command is sealed once per sequence number, so a retransmission carries the same
 * bytes and the peripheral answers with its stored reply, whose MAC still checks.
 */
export class SecureSession {
  /** the full MAC of the peripheral's last reply: what the next command is chained to */
  private replyMac: Buffer;

  constructor(
    private readonly keys: SessionKeys,
    initialRmac: Uint8Array,
  ) {
    this.replyMac = Buffer.from(initialRmac);
  }

  /** The bytes of a secured command, and the full MAC its reply must be chained to. */
  seal(address: number, sequence: Sequence, useCrc: boolean, code: number, data: Uint8Array): { bytes: Buffer; commandMac: Buffer } {
    const encrypted = data.length > 0;
    const payload = encrypted ? encryptData(this.keys, invert(this.replyMac), data) : new Uint8Array();
    const frame: OsdpFrame = {
      address,
      reply: false,
      sequence,
      useCrc,
      securityBlock: { type: encrypted ? SCS.COMMAND_ENCRYPTED : SCS.COMMAND_MAC, data: new Uint8Array() },
      code,
      data: payload,
      mac: new Uint8Array(4),
    };
    const bytes = encodeFrame(frame);
    const checkBytes = useCrc ? 2 : 1;
    const macStart = bytes.length - checkBytes - 4;
    // The MAC covers the frame as sent (its final length included), from SOM to the last data byte.
    const commandMac = messageMac(this.keys, this.replyMac, bytes.subarray(0, macStart));
    commandMac.copy(bytes, macStart, 0, 4);
    if (useCrc) bytes.writeUInt16LE(crc16AugCcitt(bytes, 0, bytes.length - 2), bytes.length - 2);
    else bytes[bytes.length - 1] = checksum8(bytes, 0, bytes.length - 1);
    return { bytes, commandMac };
  }

  /**
   * Checks a reply's MAC against the command it answers and decrypts its data; the reply then becomes
   * what the next command is chained to. Throws OsdpSecureChannelError: the caller drops the session.
   */
  open(reply: OsdpFrame, replyBytes: Uint8Array, commandMac: Buffer): OsdpFrame {
    const type = reply.securityBlock?.type;
    if (type !== SCS.REPLY_MAC && type !== SCS.REPLY_ENCRYPTED) {
      throw new OsdpSecureChannelError('not_secured', `reply 0x${reply.code.toString(16)} came without the secure channel (security block ${type === undefined ? 'absent' : `0x${type.toString(16)}`})`);
    }
    const checkBytes = reply.useCrc ? 2 : 1;
    const macStart = replyBytes.length - checkBytes - 4;
    const mac = messageMac(this.keys, commandMac, replyBytes.subarray(0, macStart));
    const received = reply.mac ?? new Uint8Array();
    if (received.length !== 4 || !timingSafeEqual(mac.subarray(0, 4), received)) {
      throw new OsdpSecureChannelError('bad_mac', `reply 0x${reply.code.toString(16)} has a MAC that does not check: tampered with, or the session was lost`);
    }
    let data = reply.data;
    if (type === SCS.REPLY_ENCRYPTED) {
      try {
        data = decryptData(this.keys, invert(commandMac), reply.data);
      } catch (err) {
        throw new OsdpSecureChannelError('bad_padding', `reply 0x${reply.code.toString(16)}: ${(err as Error).message}`);
      }
    }
    this.replyMac = mac;
    const { mac: _mac, securityBlock: _block, ...plain } = reply;
    return { ...plain, data: Uint8Array.from(data) };
  }
}
