import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { analyticsState, decodePullMessages, decodeSoapAnswer, OnvifFaultError, OnvifProtocolError, onvifCameraConfigSchema, passwordDigest, usernameTokenHeader } from '../src/index.js';
import { PULL } from './onvif-fixtures.js';

describe('WS-Security UsernameToken digest', () => {
  it('is Base64(SHA1(nonce bytes + Created + password)), checked against a vector computed by hand', () => {
    const nonce = Buffer.from('LKqI6G/AikKCQrN0zqZFlg==', 'base64');
    const created = '2010-09-16T07:50:45Z';
    // SHA1 over the 16 nonce bytes followed by the ASCII of Created and of the password.
    const bytes = Buffer.concat([nonce, Buffer.from('2010-09-16T07:50:45Z'), Buffer.from('userpassword')]);
    expect(bytes.length).toBe(16 + 20 + 12);
    const expected = createHash('sha1').update(bytes).digest('base64');
    expect(passwordDigest(nonce, created, 'userpassword')).toBe(expected);
    expect(passwordDigest(nonce, created, 'userpassword')).toBe('tuOSpGlFlIXsozq4HFNeeGeFLEI=');
  });

  it('writes Created from the camera clock given, without milliseconds', () => {
    const header = usernameTokenHeader('admin', 'pw', Date.UTC(2030, 0, 2, 3, 4, 5, 678), Buffer.alloc(16, 1));
    expect(header).toContain('<wsu:Created>2030-01-02T03:04:05Z</wsu:Created>');
    expect(header).toContain(`<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${Buffer.alloc(16, 1).toString('base64')}</wsse:Nonce>`);
    expect(header).toContain(passwordDigest(Buffer.alloc(16, 1), '2030-01-02T03:04:05Z', 'pw'));
  });
});

const FAULT_12 = `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">Sender not Authorized</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`;
const FAULT_11 = `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>Action not supported</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`;

describe('SOAP answers', () => {
  it('decodes a SOAP 1.2 fault into an error naming the operation and the subcode', () => {
    const err = (() => {
      try {
        decodeSoapAnswer(FAULT_12, 'GetProfiles');
      } catch (e) {
        return e as OnvifFaultError;
      }
      throw new Error('no fault');
    })();
    expect(err).toBeInstanceOf(OnvifFaultError);
    expect(err.message).toBe('ONVIF GetProfiles: the camera answered with a fault: env:Sender / ter:NotAuthorized (Sender not Authorized)');
    expect(err.notAuthorized).toBe(true);
  });

  it('decodes a SOAP 1.1 fault', () => {
    expect(() => decodeSoapAnswer(FAULT_11, 'GetScopes')).toThrow('ONVIF GetScopes: the camera answered with a fault: SOAP-ENV:Client (Action not supported)');
  });

  it('refuses a document type declaration, non-SOAP and the wrong answer with clear errors', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><s:Envelope xmlns:s="x"><s:Body>&lol2;</s:Body></s:Envelope>`;
    expect(() => decodeSoapAnswer(bomb, 'GetProfiles')).toThrow(/document type declaration is refused/);
    expect(() => decodeSoapAnswer('<html><body>hi</body></html>', 'GetProfiles')).toThrow('ONVIF GetProfiles answer: not a SOAP envelope with a Body');
    expect(() => decodeSoapAnswer(PULL, 'GetProfiles')).toThrow('expected GetProfilesResponse in the Body, found PullMessagesResponse');
    expect(() => decodeSoapAnswer('<s:Envelope><s:Body>', 'Renew')).toThrow(OnvifProtocolError);
  });

  it('reads motion and tamper notifications across topic families', () => {
    const pulled = decodePullMessages(decodeSoapAnswer(PULL, 'PullMessages'));
    expect(pulled.notifications.map(analyticsState)).toEqual([
      { kind: 'motion', active: true, source: 'VideoSourceToken/MyMotionDetectorRule' },
      { kind: 'tamper', active: true, source: 'VideoSource_1' },
    ]);
    expect(pulled.terminationTime! - pulled.currentTime!).toBe(60_000);
  });
});

describe('ONVIF camera configuration', () => {
  const base = { id: 'cam-gate', driver: 'onvif', username: 'admin', password: 'pw' };

  it('refuses a device service URL carrying a user name or password, without repeating it', () => {
    for (const url of ['http://admin:s3cret@10.0.0.5/onvif/device_service', 'http://admin@10.0.0.5/onvif/device_service', 'https://:s3cret@cam.example/onvif/device_service']) {
      const result = onvifCameraConfigSchema.safeParse({ ...base, url });
      expect(result.success).toBe(false);
      expect(result.error!.issues.map((i) => i.message)).toEqual(['the URL must not carry a user name or password (user:password@host): give them as username and password']);
      expect(JSON.stringify(result.error!.issues)).not.toContain('s3cret');
    }
    expect(onvifCameraConfigSchema.safeParse({ ...base, url: 'http://10.0.0.5:8000/onvif/device_service' }).success).toBe(true);
  });
});
