import { describe, expect, it } from 'vitest';
import { isapiDeviceConfigSchema } from '../src/drivers/isapi/isapi-config.js';

const minimal = { id: 'panel-gate', driver: 'isapi', url: 'http://192.168.1.64:80', username: 'admin', password: 'secret' };

describe('ISAPI device config', () => {
  it('fills in the defaults', () => {
    expect(isapiDeviceConfigSchema.parse(minimal)).toEqual({
      ...minimal,
      doors: 1,
      stallTimeoutMs: 30_000,
      offlineAfterMs: 15_000,
      requestTimeoutMs: 10_000,
      reconnectMinMs: 1000,
      reconnectMaxMs: 30_000,
    });
  });

  it('names what is wrong', () => {
    const issues = (input: unknown) => {
      const r = isapiDeviceConfigSchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.code}`);
    };
    expect(issues({ ...minimal, url: 'http://192.168.1.64/ISAPI' })).toEqual(['url: custom']);
    expect(issues({ ...minimal, url: 'not a url' })).toEqual(expect.arrayContaining([expect.stringMatching(/^url: /)]));
    expect(issues({ ...minimal, id: 'Panel Gate' })).toEqual(['id: invalid_format']);
    expect(issues({ ...minimal, doors: 0 })).toEqual(['doors: too_small']);
    expect(issues({ ...minimal, pasword: 'typo' })).toEqual([': unrecognized_keys']);
    expect(issues({ ...minimal, driver: 'onvif' })).toEqual(['driver: invalid_value']);
  });

  it('refuses a URL carrying a user name or password, saying where they belong and without repeating them', () => {
    for (const url of ['http://admin:S3cret@192.168.1.64', 'http://admin@192.168.1.64:80', 'https://:S3cret@panel.example']) {
      const r = isapiDeviceConfigSchema.safeParse({ ...minimal, url });
      expect(r.success).toBe(false);
      expect(r.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['url', 'the URL must not carry a user name or password: give them as username and password']]);
      expect(JSON.stringify(r.error!.issues)).not.toContain('S3cret');
    }
  });
});
