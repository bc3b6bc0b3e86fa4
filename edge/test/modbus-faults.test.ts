import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '@gatehouse/contracts';
import type { ModbusConnection } from '@gatehouse/edge';
import { startSimulatedSite, type SimulatedSite } from '@gatehouse/firmware-sim';
import { capturingContext, DriverFactory, silent } from './support/modbus-fixtures.js';

const byMetric = (readings: Reading[]) => new Map(readings.map((r) => [r.metric, r]));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Modbus faults: quality flags, log lines, backoff, neighbours unaffected', () => {
  let site: SimulatedSite;
  let connection: ModbusConnection;
  const factory = new DriverFactory();

  beforeAll(async () => {
    site = await startSimulatedSite(
      {
        modbusTcp: [
          {
            port: 0,
            meters: [
              { id: 'sick', unitId: 1, model: 'eastron-sdm630', shape: 'office', ratedKw: 80, initialImportKwh: 5000 },
              { id: 'healthy', unitId: 2, model: 'eastron-sdm630', shape: 'office', ratedKw: 80, initialImportKwh: 9000 },
              { id: 'strict', unitId: 3, model: 'schneider-iem3255', shape: 'office', ratedKw: 80, initialImportKwh: 100 },
            ],
          },
        ],
      },
      { logger: silent },
    );
    connection = factory.connection({ kind: 'tcp', host: '127.0.0.1', port: site.modbusTcp[0]!.port });
  });

  afterEach(() => site.meter('sick').faults.clear());
  afterAll(async () => {
    await factory.closeAll();
    await site.stop();
  });

  it('a silent device costs one timeout per attempt, is backed off, and comes back', async () => {
    const sick = site.meter('sick');
    const ctx = capturingContext();
    const driver = factory.driver(connection, 'eastron-sdm630', 1, { timeoutMs: 200, retries: 1, backoff: { initialMs: 400, maxMs: 400 } }, ctx);
    sick.inject({ kind: 'silent' });

    let before = sick.requests;
    const first = await driver.pollOnce();
    // First failure: the read and its one retry; the poll's other two reads are not attempted.
    expect(sick.requests - before).toBe(2);
    expect(first.every((r) => r.quality === 'comm_error' && r.value === null)).toBe(true);
    expect(first[0]?.detail).toBe('timed out');
    expect(driver.backedOff).toBe(true);
    expect(ctx.logs.find((l) => l.msg === 'modbus device not answering; backing off')).toMatchObject({ device: 'unit-1', unitId: 1, failures: 1, nextAttemptInMs: 400, problem: 'timed out' });

    // While failing, no retries: one timeout per attempt.
    before = sick.requests;
    await driver.pollOnce();
    expect(sick.requests - before).toBe(1);

    sick.faults.clear();
    await sleep(450);
    expect(driver.backedOff).toBe(false);
    expect((await driver.pollOnce()).every((r) => r.quality === 'good')).toBe(true);
    expect(ctx.logs.some((l) => l.msg === 'modbus device answering again')).toBe(true);
  });

  it('skips the polls of a backed-off device instead of spending timeouts on them', async () => {
    const sick = site.meter('sick');
    const ctx = capturingContext();
    const driver = factory.driver(connection, 'eastron-sdm630', 1, { intervalMs: 50, timeoutMs: 100, retries: 0, backoff: { initialMs: 10_000, maxMs: 10_000 } }, ctx);
    sick.inject({ kind: 'silent' });
    const before = sick.requests;
    driver.start();
    await sleep(600);
    await driver.stop();
    // About 12 ticks in 600 ms; only the first one reached the device.
    expect(sick.requests - before).toBe(1);
    const skipped = (await ctx.metrics.pollsSkipped.get()).values.find((v) => v.labels.reason === 'backoff')?.value ?? 0;
    expect(skipped).toBeGreaterThanOrEqual(8);
  });

  it('a dead neighbour on the same connection delays a healthy meter by at most its timeout', async () => {
    site.meter('sick').inject({ kind: 'silent' });
    const sick = factory.driver(connection, 'eastron-sdm630', 1, { timeoutMs: 300, retries: 0 });
    const healthy = factory.driver(connection, 'eastron-sdm630', 2);
    const started = Date.now();
    const [, readings] = await Promise.all([sick.pollOnce(), healthy.pollOnce()]);
    expect(readings.every((r) => r.quality === 'good')).toBe(true);
    expect(Date.now() - started).toBeLessThan(300 + 250);
  });

  it('slow answers beyond the timeout are timeouts; within it, good readings', async () => {
    const driver = factory.driver(connection, 'eastron-sdm630', 1, { timeoutMs: 200, retries: 0 });
    site.meter('sick').inject({ kind: 'slow', delayMs: 50 });
    expect((await driver.pollOnce()).every((r) => r.quality === 'good')).toBe(true);
    site.meter('sick').inject({ kind: 'slow', delayMs: 400 });
    expect((await driver.pollOnce())[0]).toMatchObject({ quality: 'comm_error', detail: 'timed out' });
  });

  it('an exception answer is a device exception with its code; the device is not backed off', async () => {
    const ctx = capturingContext();
    const driver = factory.driver(connection, 'eastron-sdm630', 1, {}, ctx);
    site.meter('sick').inject({ kind: 'exception', code: 4 });
    const readings = await driver.pollOnce();
    expect(readings.every((r) => r.quality === 'device_exception' && r.detail === 'exception 4: server device failure')).toBe(true);
    expect(driver.backedOff).toBe(false);
    expect(ctx.logs.filter((l) => l.msg === 'modbus read failed')).toHaveLength(2);
    expect(ctx.logs[0]).toMatchObject({ device: 'unit-1', unitId: 1, function: 'input', address: 0, length: 76, problem: 'exception 4: server device failure' });
  });

  it('splits a merged read that a meter refuses, until the meter accepts every read', async () => {
    const strict = site.meter('strict');
    const ctx = capturingContext();
    const driver = factory.driver(connection, 'schneider-iem3255', 3, { maxGap: 124 }, ctx);
    const merged = driver.plan.length;
    const first = await driver.pollOnce();
    expect(first.some((r) => r.quality === 'device_exception' && r.detail === 'exception 2: illegal data address')).toBe(true);
    expect(ctx.logs.find((l) => l.msg === 'device refused a merged read; splitting it at its widest gap')).toMatchObject({ device: 'unit-3' });
    let polls = 1;
    while ((await driver.pollOnce()).some((r) => r.quality !== 'good')) {
      polls++;
      expect(polls).toBeLessThan(10);
    }
    // The iEM3255 map has six contiguous blocks: the plan settles on exactly those.
    expect(driver.plan.map((r) => [r.address, r.length])).toEqual([
      [2999, 6],
      [3027, 6],
      [3053, 8],
      [3083, 2],
      [3109, 2],
      [3203, 8],
    ]);
    expect(driver.plan.length).toBeGreaterThan(merged);
    const before = strict.requests;
    expect((await driver.pollOnce()).every((r) => r.quality === 'good')).toBe(true);
    expect(strict.requests - before).toBe(6);
  });

  it('flags gauges stale when every register stays frozen', async () => {
    const driver = factory.driver(connection, 'eastron-sdm630', 1, { staleAfterPolls: 3 });
    site.meter('sick').inject({ kind: 'stuck' });
    const qualities: string[] = [];
    for (let i = 0; i < 5; i++) qualities.push(byMetric(await driver.pollOnce()).get('active_power')?.quality ?? '');
    expect(qualities).toEqual(['good', 'good', 'good', 'stale', 'stale']);
    site.meter('sick').faults.clear();
    expect(byMetric(await driver.pollOnce()).get('active_power')?.quality).toBe('good');
  });

  it('a counter reset (meter replaced) is flagged, never passed on as consumption', async () => {
    const driver = factory.driver(connection, 'eastron-sdm630', 1);
    const energy = async () => byMetric(await driver.pollOnce()).get('import_energy');
    expect((await energy())?.quality).toBe('good');
    site.meter('sick').inject({ kind: 'counter_reset' });
    const dropped = await energy();
    expect(dropped?.quality).toBe('counter_negative_step');
    expect(dropped?.value).toBeLessThan(1);
    expect((await energy())?.quality).toBe('counter_reset');
    expect((await energy())?.quality).toBe('good');
  });

  it('a spike of the energy register is flagged and forgotten', async () => {
    const driver = factory.driver(connection, 'eastron-sdm630', 1);
    const energy = async () => byMetric(await driver.pollOnce()).get('import_energy');
    const before = await energy();
    site.meter('sick').inject({ kind: 'spike', amount: 250_000 });
    const spiked = await energy();
    expect(spiked).toMatchObject({ quality: 'counter_jump' });
    expect(spiked?.detail).toMatch(/^counter rose by (249999\.9\d\d|250000\.0\d\d) in \d+\.\d s, more than 5000 per hour allows$/);
    const after = await energy();
    expect(after?.quality).toBe('good');
    expect(after?.value).toBeGreaterThanOrEqual(before?.value ?? Infinity);
  });

  it.each([
    ['garbage', /Unexpected data error|Data length error/],
    ['short_frame', /Data length error|Unexpected data error/],
    ['wrong_unit', /Unexpected data error, expected address 1 got 2/],
  ] as const)('a %s answer gives comm_error readings and a log line; the next poll is fine', async (kind, problem) => {
    const ctx = capturingContext();
    const driver = factory.driver(connection, 'eastron-sdm630', 1, { timeoutMs: 300 }, ctx);
    site.meter('sick').inject({ kind, count: 1 });
    const readings = await driver.pollOnce();
    const firstRead = readings.filter((r) => r.quality === 'comm_error');
    expect(firstRead.length).toBeGreaterThan(0);
    const failure = ctx.logs.find((l) => l.msg === 'modbus read failed');
    expect(failure).toMatchObject({ device: 'unit-1', unitId: 1 });
    expect(String(failure?.problem)).toMatch(problem);
    expect((await driver.pollOnce()).every((r) => r.quality === 'good')).toBe(true);
    const healthy = factory.driver(connection, 'eastron-sdm630', 2);
    expect((await healthy.pollOnce()).every((r) => r.quality === 'good')).toBe(true);
  });
});
