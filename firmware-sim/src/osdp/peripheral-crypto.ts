import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * The simulated peripheral's side of the OSDP secure channel (SIA OSDP v2.2, Annex D), written apart
 * from the gateway's: block by block over AES-ECB, so that the two meet only on the wire.
 */

export const DEFAULT_BASE_KEY = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');

function encryptBlock(key: Buffer, block: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

function decryptBlock(key: Buffer, block: Buffer): Buffer {
  const decipher = createDecipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return Buffer.concat([decipher.update(block), decipher.final()]);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function padTo16(data: Buffer, always: boolean): Buffer {
  if (!always && data.length > 0 && data.length % 16 === 0) return data;
  const out = Buffer.alloc((Math.floor(data.length / 16) + 1) * 16);
  data.copy(out);
  out[data.length] = 0x80;
  return out;
}

export class PeripheralSession {
  readonly enc: Buffer;
  readonly mac1: Buffer;
  readonly mac2: Buffer;
  /** the full MAC the next command must be chained to */
  chain: Buffer = Buffer.alloc(16);
  established = false;

  constructor(
    baseKey: Buffer,
    readonly rndA: Buffer,
    readonly rndB: Buffer,
  ) {
    const derive = (second: number) => encryptBlock(baseKey, Buffer.concat([Buffer.from([0x01, second]), rndA.subarray(0, 6), Buffer.alloc(8)]));
    this.enc = derive(0x82);
    this.mac1 = derive(0x01);
    this.mac2 = derive(0x02);
  }

  get clientCryptogram(): Buffer {
    return encryptBlock(this.enc, Buffer.concat([this.rndA, this.rndB]));
  }

  expectedServerCryptogram(): Buffer {
    return encryptBlock(this.enc, Buffer.concat([this.rndB, this.rndA]));
  }

  initialRmac(serverCryptogram: Buffer): Buffer {
    return encryptBlock(this.mac2, encryptBlock(this.mac1, serverCryptogram));
  }

  /** CBC-MAC: S-MAC1 on every block but the last, S-MAC2 on the last. */
  mac(icv: Buffer, message: Buffer): Buffer {
    const input = padTo16(message, false);
    let state = icv;
    for (let offset = 0; offset < input.length; offset += 16) {
      const key = offset + 16 === input.length ? this.mac2 : this.mac1;
      state = encryptBlock(key, xor(state, input.subarray(offset, offset + 16)));
    }
    return state;
  }

  encrypt(ivSource: Buffer, data: Buffer): Buffer {
    const input = padTo16(data, true);
    let previous: Buffer = Buffer.from(ivSource.map((b) => ~b & 0xff));
    const out: Buffer[] = [];
    for (let offset = 0; offset < input.length; offset += 16) {
      previous = encryptBlock(this.enc, xor(previous, input.subarray(offset, offset + 16)));
      out.push(previous);
    }
    return Buffer.concat(out);
  }

  /** Undefined when the data is not whole blocks or does not end in the 0x80 padding. */
  decrypt(ivSource: Buffer, data: Buffer): Buffer | undefined {
    if (data.length === 0 || data.length % 16 !== 0) return undefined;
    let previous: Buffer = Buffer.from(ivSource.map((b) => ~b & 0xff));
    const plain: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += 16) {
      const block = data.subarray(offset, offset + 16);
      plain.push(xor(decryptBlock(this.enc, block), previous));
      previous = Buffer.from(block);
    }
    const all = Buffer.concat(plain);
    const marker = all.lastIndexOf(0x80);
    if (marker < 0 || all.subarray(marker + 1).some((b) => b !== 0)) return undefined;
    return all.subarray(0, marker);
  }
}
