import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/src/chaos/harness.js';
import { REAL_PG_ADMIN_URL } from '../support/real-services.js';

// The short version of `npm run chaos`: every fault at least once, real processes, real Mosquitto and
// PostgreSQL. Needs `npm run build` first (the components run from their compiled launcher).
describe('chaos: nothing lost through crashes and outages', () => {
  it('stores every value the meters served exactly once, through every kind of fault', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      durationMs: 55_000,
      faultEveryMs: 5_000,
      partitionMs: 6_000,
      meters: 3,
      pollIntervalMs: 500,
      pgAdminUrl: REAL_PG_ADMIN_URL,
      log: (line) => lines.push(line),
    });
    expect(report.faults.kill_gateway).toBeGreaterThanOrEqual(1);
    expect(report.faults.kill_cloud).toBeGreaterThanOrEqual(1);
    expect(report.faults.restart_broker).toBeGreaterThanOrEqual(1);
    expect(report.faults.cut_database).toBeGreaterThanOrEqual(1);
    expect(report.faults.partition).toBeGreaterThanOrEqual(1);
    expect(report.served).toBeGreaterThan(1000);
    expect(report.examples, JSON.stringify({ ...report, checksumServed: undefined, checksumStored: undefined })).toEqual([]);
    expect(report.missingElsewhere).toBe(0);
    expect(report.unexpected).toBe(0);
    expect(report.matched + report.missingInCrashWindows).toBe(report.served);
    for (const device of Object.keys(report.checksumServed)) expect(report.checksumStored[device]).toBe(report.checksumServed[device]);
  }, 300_000);
});
