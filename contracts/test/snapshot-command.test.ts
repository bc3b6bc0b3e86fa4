import { describe, expect, it } from 'vitest';
import {
  COMMAND_NAMES,
  commandResultCodec,
  formatIssues,
  MAX_PAYLOAD_BYTES,
  MAX_SNAPSHOT_BASE64,
  snapshotCommandArgsSchema,
  snapshotResultDataSchema,
} from '@gatehouse/contracts';

const ts = Date.UTC(2026, 10, 26, 2, 0, 0);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xd9]).toString('base64');

const problems = (result: { success: boolean; error?: { issues: Parameters<typeof formatIssues>[0] } }) => (result.success ? [] : formatIssues(result.error!.issues));

describe('snapshot command', () => {
  it('is named snapshot', () => {
    expect(COMMAND_NAMES.snapshot).toBe('snapshot');
  });

  it('takes exactly one camera id', () => {
    expect(snapshotCommandArgsSchema.parse({ device: 'cam-lobby' })).toEqual({ device: 'cam-lobby' });
    expect(problems(snapshotCommandArgsSchema.safeParse({}))).toEqual(['device: Invalid input: expected string, received undefined']);
    expect(problems(snapshotCommandArgsSchema.safeParse({ device: 'cam-lobby', door: '1' }))).toEqual(['(root): Unrecognized key: "door"']);
    expect(snapshotCommandArgsSchema.safeParse({ device: 'Cam/Lobby' }).success).toBe(false);
    expect(snapshotCommandArgsSchema.safeParse({ device: 'x'.repeat(65) }).success).toBe(false);
  });
});

describe('snapshot result data', () => {
  const data = { contentType: 'image/jpeg' as const, ts, dataBase64: JPEG };

  it('carries the picture in base64 with its content type and time', () => {
    expect(snapshotResultDataSchema.parse(data)).toEqual(data);
    expect(snapshotResultDataSchema.parse({ ...data, contentType: 'image/png' }).contentType).toBe('image/png');
  });

  it('refuses what is not a picture in base64, a foreign content type or a time before 2000', () => {
    expect(problems(snapshotResultDataSchema.safeParse({ ...data, dataBase64: 'not base64!' }))).toEqual(['dataBase64: expected the image in base64']);
    expect(problems(snapshotResultDataSchema.safeParse({ ...data, dataBase64: '' }))).toContain('dataBase64: expected an image');
    expect(snapshotResultDataSchema.safeParse({ ...data, contentType: 'image/gif' }).success).toBe(false);
    expect(problems(snapshotResultDataSchema.safeParse({ ...data, ts: 12 }))).toEqual(['ts: expected a time after 2000-01-01T00:00:00Z']);
  });

  it('takes a picture as large as an event attachment (about 1.4 MB), not more', () => {
    const largest = Buffer.alloc((MAX_SNAPSHOT_BASE64 / 4) * 3, 0xab).toString('base64');
    expect(largest.length).toBe(MAX_SNAPSHOT_BASE64);
    expect(snapshotResultDataSchema.safeParse({ ...data, dataBase64: largest }).success).toBe(true);
    const tooLarge = Buffer.alloc((MAX_SNAPSHOT_BASE64 / 4) * 3 + 3, 0xab).toString('base64');
    expect(problems(snapshotResultDataSchema.safeParse({ ...data, dataBase64: tooLarge }))).toEqual([`dataBase64: expected at most ${MAX_SNAPSHOT_BASE64} base64 characters`]);
  });

  it('fits a command result well within the largest MQTT payload', () => {
    const largest = Buffer.alloc((MAX_SNAPSHOT_BASE64 / 4) * 3, 0xab).toString('base64');
    const payload = commandResultCodec.encode({ v: 1, id: 'c-1', command: 'snapshot', status: 'ok', detail: '1500000 bytes from camera cam-lobby in 12 ms', data: { ...data, dataBase64: largest }, ts });
    expect(payload.length).toBeLessThan(MAX_PAYLOAD_BYTES / 4);
    const decoded = commandResultCodec.decode(payload);
    expect(decoded.ok && snapshotResultDataSchema.parse(decoded.value.data).dataBase64.length).toBe(MAX_SNAPSHOT_BASE64);
  });
});
