import { describe, expect, it } from 'vitest';
import {
  commandCodec,
  commandResultCodec,
  eventBatchCodec,
  gatewayStateCodec,
  MAX_PAYLOAD_BYTES,
  telemetryCodec,
  type TelemetryBatchInput,
} from '@gatehouse/contracts';

const ts = Date.UTC(2026, 10, 26, 2, 0, 0);

const batch: TelemetryBatchInput = {
  v: 1,
  seq: 41,
  lastSeq: 43,
  sentAt: ts + 500,
  readings: [
    { device: 'b1-main', metric: 'active_power', unit: 'W', ts, value: 38373.546875, quality: 'good' },
    { device: 'b1-main', metric: 'import_energy', unit: 'kWh', ts, value: 1523400.25, quality: 'good' },
    { device: 'b2-main', metric: 'active_power', unit: 'W', ts, value: null, quality: 'comm_error', detail: 'timed out' },
  ],
};

describe('telemetry batch', () => {
  it('round-trips through encode and decode, filling defaults', () => {
    const decoded = telemetryCodec.decode(telemetryCodec.encode(batch));
    expect(decoded).toEqual({ ok: true, value: { ...batch, historical: false } });
  });

  it('refuses to encode an invalid batch on the sending side', () => {
    expect(() => telemetryCodec.encode({ ...batch, seq: -1 })).toThrow();
  });

  it('refuses a batch whose last sequence number comes before its first', () => {
    const result = telemetryCodec.decode(JSON.stringify({ ...batch, lastSeq: 40 }));
    expect(result.ok || result.error.message).toBe('telemetry batch: lastSeq: expected lastSeq >= seq');
  });

  it('names the path and the expectation of each problem', () => {
    const bad = {
      ...batch,
      readings: [batch.readings[0], { ...batch.readings[1], value: 'high' }, { ...batch.readings[2], quality: 'meh' }],
    };
    const result = telemetryCodec.decode(JSON.stringify(bad));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid');
    expect(result.error.problems).toEqual([
      'readings[1].value: Invalid input: expected number, received string',
      expect.stringMatching(/^readings\[2\]\.quality: Invalid option: expected one of "good"\|/),
    ]);
    expect(result.error.message).toMatch(/^telemetry batch: readings\[1\]\.value/);
  });

  it('rejects non-JSON, timestamps before 2000, bad ids and empty batches', () => {
    const notJson = telemetryCodec.decode(Buffer.from('{"v":1,'));
    expect(notJson.ok || notJson.error.code).toBe('not_json');
    expect(notJson.ok || notJson.error.message).toMatch(/^telemetry batch: payload is not valid JSON/);

    const early = telemetryCodec.decode(JSON.stringify({ ...batch, readings: [{ ...batch.readings[0], ts: 5 }] }));
    expect(early.ok || early.error.message).toContain('readings[0].ts: expected a time after 2000-01-01');

    const badId = telemetryCodec.decode(JSON.stringify({ ...batch, readings: [{ ...batch.readings[0], device: 'B1/main' }] }));
    expect(badId.ok || badId.error.message).toContain('readings[0].device: expected an id');

    const empty = telemetryCodec.decode(JSON.stringify({ ...batch, readings: [] }));
    expect(empty.ok || empty.error.message).toContain('readings:');
  });

  it('rejects an oversized payload before parsing it', () => {
    const result = telemetryCodec.decode(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20));
    expect(result.ok || result.error.code).toBe('too_large');
  });
});

describe('other payloads', () => {
  it('round-trip: events, state, commands and results', () => {
    const events = {
      v: 1 as const,
      seq: 3,
      lastSeq: 3,
      sentAt: ts,
      historical: true,
      events: [
        {
          id: 'e-1',
          device: 'door-3',
          type: 'door_forced_open' as const,
          ts,
          point: 'door-3',
          attachments: [{ camera: 'cam-lobby', contentType: 'image/jpeg' as const, ts, dataBase64: Buffer.from([0xff, 0xd8]).toString('base64') }],
        },
      ],
    };
    expect(eventBatchCodec.decode(eventBatchCodec.encode(events))).toEqual({ ok: true, value: events });

    const stream = { nextSeq: 7, ackedThrough: 5, backlogEntries: 1, backlogItems: 15, oldestPendingTs: ts, drainPerSecond: 0, bytes: 4096 };
    const birth = { v: 1 as const, status: 'online' as const, ts, version: '0.1.0', streams: { telemetry: stream, events: { ...stream, backlogItems: 0, oldestPendingTs: null } }, devices: [{ id: 'b1-main', kind: 'meter' as const, driver: 'modbus+tcp', profile: 'eastron-sdm630' }] };
    expect(gatewayStateCodec.decode(gatewayStateCodec.encode(birth))).toEqual({ ok: true, value: birth });

    const command = { v: 1 as const, id: 'c-9', issuedBy: 'guard.li', issuedAt: ts, expiresAt: ts + 30_000, args: { door: 3, seconds: 5 } };
    expect(commandCodec.decode(commandCodec.encode(command))).toEqual({ ok: true, value: command });

    const result = { v: 1 as const, id: 'c-9', command: 'door-open', status: 'ok' as const, ts };
    expect(commandResultCodec.decode(commandResultCodec.encode(result))).toEqual({ ok: true, value: result });
  });

  it('rejects an unknown event type and an unknown gateway status', () => {
    const badEvent = eventBatchCodec.decode(JSON.stringify({ v: 1, seq: 0, lastSeq: 0, sentAt: ts, events: [{ id: 'x', device: 'd', type: 'door_exploded', ts }] }));
    expect(badEvent.ok || badEvent.error.message).toContain('events[0].type: Invalid option');
    const badState = gatewayStateCodec.decode(JSON.stringify({ v: 1, status: 'sleepy', ts }));
    expect(badState.ok || badState.error.message).toContain('status: Invalid option');
  });
});

describe('telemetry batches built from pre-serialised readings', () => {
  it('decode exactly like the codec-encoded batch', async () => {
    const { serializeReadings, telemetryPayload } = await import('@gatehouse/contracts');
    const fragments = [serializeReadings(batch.readings.slice(0, 2)), serializeReadings(batch.readings.slice(2))];
    const payload = telemetryPayload({ seq: 41, lastSeq: 43, sentAt: ts + 500, historical: false }, fragments);
    expect(telemetryCodec.decode(payload)).toEqual(telemetryCodec.decode(telemetryCodec.encode(batch)));
    expect(payload.equals(telemetryCodec.encode(batch))).toBe(true);
  });
});
