import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * The cryptography of the OSDP secure channel (SIA OSDP v2.2, Annex D), AES-128 throughout:
 * per-peripheral keys, session keys, the handshake's cryptograms and initial R-MAC, the MAC that chains
 * every secured message to the one before it, and the encryption of data fields. The message
 * bookkeeping (which MAC is the IV of which message) is the link's; these are the pure functions,
 * checked against the published Annex E values.
 */

/** The default secure channel base key, for installing a peripheral only. */
export const SCBK_D = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');

const BLOCK = 16;

function aesEcb(key: Uint8Array, block: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-128-ecb', key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

function aesCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export interface SessionKeys {
  enc: Buffer;
  mac1: Buffer;
  mac2: Buffer;
}

/** A peripheral's own base key: the master key encrypting its client UID followed by the UID inverted. */
export function derivePeripheralKey(masterKey: Uint8Array, clientUid: Uint8Array): Buffer {
  if (clientUid.length !== 8) throw new Error(`a client UID has 8 bytes, got ${clientUid.length}`);
  const block = Buffer.alloc(BLOCK);
  block.set(clientUid, 0);
  for (let i = 0; i < 8; i++) block[8 + i] = ~clientUid[i]! & 0xff;
  return aesEcb(masterKey, block);
}

/** S-ENC, S-MAC1 and S-MAC2 for a session, from the base key and the control panel's random (RND.A). */
export function deriveSessionKeys(scbk: Uint8Array, rndA: Uint8Array): SessionKeys {
  const derive = (a: number, b: number) => {
    const block = Buffer.alloc(BLOCK);
    block[0] = a;
    block[1] = b;
    block.set(rndA.subarray(0, 6), 2);
    return aesEcb(scbk, block);
  };
  return { enc: derive(0x01, 0x82), mac1: derive(0x01, 0x01), mac2: derive(0x01, 0x02) };
}

/** The peripheral's proof of the key (sent in osdp_CCRYPT): AES(S-ENC, RND.A ‖ RND.B). */
export function clientCryptogram(keys: SessionKeys, rndA: Uint8Array, rndB: Uint8Array): Buffer {
  return aesEcb(keys.enc, Buffer.concat([rndA, rndB]));
}

/** The control panel's proof of the key (sent in osdp_SCRYPT): AES(S-ENC, RND.B ‖ RND.A). */
export function serverCryptogram(keys: SessionKeys, rndA: Uint8Array, rndB: Uint8Array): Buffer {
  return aesEcb(keys.enc, Buffer.concat([rndB, rndA]));
}

/** The initial R-MAC (osdp_RMAC_I): AES(S-MAC2, AES(S-MAC1, server cryptogram)). */
export function initialRmac(keys: SessionKeys, serverCryptogramValue: Uint8Array): Buffer {
  return aesEcb(keys.mac2, aesEcb(keys.mac1, serverCryptogramValue));
}

/**
 * The MAC of a secured message (from SOM through its last data byte), chained from `icv` (the other
 * side's last full MAC): CBC with S-MAC1 over every block but the last, S-MAC2 for the last. The input
 * is padded with 0x80 and zeros only when it is not a whole number of blocks. The first 4 bytes go on
 * the wire; all 16 chain to the next message.
 */
export function messageMac(keys: SessionKeys, icv: Uint8Array, message: Uint8Array): Buffer {
  let input = Buffer.from(message);
  if (input.length === 0 || input.length % BLOCK !== 0) {
    const padded = Buffer.alloc(Math.ceil((input.length + 1) / BLOCK) * BLOCK);
    input.copy(padded);
    padded[input.length] = 0x80;
    input = padded;
  }
  let iv: Uint8Array = icv;
  const lastStart = input.length - BLOCK;
  if (lastStart > 0) {
    const head = aesCbc(keys.mac1, icv, input.subarray(0, lastStart));
    iv = head.subarray(head.length - BLOCK);
  }
  return aesCbc(keys.mac2, iv, input.subarray(lastStart));
}

/** Every byte inverted: the encryption IV is the inverse of the MAC the message is chained to. */
export function invert(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.map((b) => ~b & 0xff));
}

/** Encrypts a data field with S-ENC; always padded with 0x80 then zeros (16 bytes become 32). */
export function encryptData(keys: SessionKeys, iv: Uint8Array, data: Uint8Array): Buffer {
  const padded = Buffer.alloc(Math.ceil((data.length + 1) / BLOCK) * BLOCK);
  padded.set(data);
  padded[data.length] = 0x80;
  return aesCbc(keys.enc, iv, padded);
}

/** Decrypts a data field and removes its padding; throws when the padding is not there (wrong key or IV). */
export function decryptData(keys: SessionKeys, iv: Uint8Array, data: Uint8Array): Buffer {
  if (data.length === 0 || data.length % BLOCK !== 0) throw new Error(`encrypted data of ${data.length} bytes is not whole AES blocks`);
  const decipher = createDecipheriv('aes-128-cbc', keys.enc, iv);
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data), decipher.final()]);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0x00) end--;
  if (end < 0 || plain[end] !== 0x80) throw new Error('decrypted data has no 0x80 padding marker: wrong key or IV');
  return plain.subarray(0, end);
}
