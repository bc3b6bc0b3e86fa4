import { describe, expect, it } from 'vitest';
import {
  clientCryptogram,
  decryptData,
  deriveSessionKeys,
  encodeFrame,
  encryptData,
  initialRmac,
  invert,
  messageMac,
  SCBK_D,
  serverCryptogram,
} from '@gatehouse/edge';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const RND_A = hex('B0 B1 B2 B3 B4 B5 B6 B7'); // the control panel's random, SIA Annex E
const RND_B = hex('A0 A1 A2 A3 A4 A5 A6 A7'); // the peripheral's random, SIA Annex E

describe('OSDP secure channel: the SIA Annex E values', () => {
  // Published in SIA OSDP Annex E, asserted by libosdp (tests/unit-tests/test-sc-sia-vectors.c) and
  // smartrent/jeff (test/secure_channel_test.exs).
  const keys = deriveSessionKeys(SCBK_D, RND_A);

  it('derives S-ENC, S-MAC1 and S-MAC2 from SCBK-D', () => {
    expect(keys.enc.toString('hex')).toBe('bf8dc2a8329acb8c67c6d0cd9a451682');
    expect(keys.mac1.toString('hex')).toBe('5e86c676603bdee2d8beafe178637332');
    expect(keys.mac2.toString('hex')).toBe('6fda86e857777e81132035758239172e');
  });

  it('computes both cryptograms and the initial R-MAC', () => {
    expect(clientCryptogram(keys, RND_A, RND_B).toString('hex')).toBe('fde5d2f428ec16312471ea3c02bd7796');
    const server = serverCryptogram(keys, RND_A, RND_B);
    expect(server.toString('hex')).toBe('26d3356e07762d262801fc8e6665a891');
    expect(initialRmac(keys, server).toString('hex')).toBe('b2a30057eb98ba2229ec1f875662b524');
  });
});

describe('OSDP secure channel: secured messages', () => {
  const keys = deriveSessionKeys(SCBK_D, RND_A);
  const rmacI = hex('b2a30057eb98ba2229ec1f875662b524');

  it('chains MACs from the initial R-MAC (values from an independent implementation, not published)', () => {
    // osdp_POLL to PD 0, sequence 3, SCS_15, its length already counting MAC and CRC.
    const poll = messageMac(keys, rmacI, hex('53 00 0E 00 0F 02 15 60'));
    expect(poll.toString('hex')).toBe('69bdc65422f89a776a13a0a8a7348344');
    // The reply's MAC is chained to the command's full MAC.
    const ack = messageMac(keys, poll, hex('53 80 0E 00 0F 02 16 40'));
    expect(ack.toString('hex')).toBe('f9baff9d6181acb402ed0890829f0419');
  });

  it("builds a whole secured, encrypted command frame (an independent implementation's bytes)", () => {
    // osdp_ID with data 00 as the first command after RMAC-I: encrypted with IV = ~RMAC-I, MAC chained from RMAC-I.
    const encrypted = encryptData(keys, invert(rmacI), Uint8Array.of(0));
    expect(encrypted.toString('hex')).toBe('620b073e337586ce4e4f87b73ca656cc');
    const mac = messageMac(keys, rmacI, Buffer.concat([hex('53 00 1E 00 0F 02 17 61'), encrypted]));
    const frame = encodeFrame({ address: 0, reply: false, sequence: 3, useCrc: true, securityBlock: { type: 0x17, data: new Uint8Array() }, code: 0x61, data: encrypted, mac: mac.subarray(0, 4) });
    expect(frame.toString('hex')).toBe(hex('53 00 1E 00 0F 02 17 61 62 0B 07 3E 33 75 86 CE 4E 4F 87 B7 3C A6 56 CC 2B 09 A6 94 DE 89').toString('hex'));
  });

  it('encrypts data with 0x80 padding always, and refuses data that does not decrypt to it', () => {
    const iv = invert(rmacI);
    expect(iv.toString('hex')).toBe('4d5cffa8146745ddd613e078a99d4adb');
    for (const length of [0, 1, 15, 16, 17]) {
      const data = Buffer.alloc(length, 0x5a);
      const encrypted = encryptData(keys, iv, data);
      expect(encrypted.length).toBe(Math.ceil((length + 1) / 16) * 16);
      expect(decryptData(keys, iv, encrypted)).toEqual(data);
    }
    expect(() => decryptData(keys, hex('00'.repeat(16)), encryptData(keys, iv, Buffer.from('hello')))).toThrow('decrypted data has no 0x80 padding marker: wrong key or IV');
  });
});
