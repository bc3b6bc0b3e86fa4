import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/src/chaos/harness.js';
import { REAL_PG_ADMIN_URL, REAL_TIMESCALE_ADMIN_URL } from '../support/real-services.js';

// The short version of `npm run chaos`: every fault at least once, real processes, real Mosquitto and
// PostgreSQL. Needs `npm run build` first (the components run from their compiled launcher).
// The same run on plain PostgreSQL and on TimescaleDB (readings in a hypertable, which the two cloud
// instances starting together convert once).
describe.each([
  ['PostgreSQL', REAL_PG_ADMIN_URL],
  ['TimescaleDB', REAL_TIMESCALE_ADMIN_URL],
])('chaos on %s: nothing lost through crashes and outages', (_server, pgAdminUrl) => {
  it('stores every value the meters served exactly once and raises every alarm once, through every kind of fault', async () => {
    const lines: string[] = [];
    const report = await runChaos({
      durationMs: 55_000,
      faultEveryMs: 5_000,
      partitionMs: 6_000,
      meters: 3,
      pollIntervalMs: 500,
      pgAdminUrl,
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

    // Alarms, raised by both cloud instances from the events they store, through the same faults.
    const door = report.door;
    const figures = JSON.stringify(door);
    // (1) one alarm not closed per source at most
    expect(door.duplicateOpen, figures).toBe(0);
    // (2) every stored door_forced_open event counted exactly once on its alarm
    expect(door.stored, figures).toBeGreaterThan(5);
    expect(door.doorForcedOccurrences, figures).toBe(door.stored);
    expect(door.doorForcedCountedTwice, figures).toBe(0);
    expect(door.doorForcedNotCounted, figures).toBe(0);
    expect(door.doorForcedCountedUnknown, figures).toBe(0);
    // the guard closed alarms, so new ones were raised for the same door
    expect(door.doorForcedAlarms, figures).toBeGreaterThanOrEqual(2);
    // (3) what the gateway journaled is what was stored; every forced opening the gateway was alive to
    // see became an event, and no event stands for an opening that did not happen
    expect(door.journaled, figures).toBe(door.stored);
    expect(door.journaledNotStored, figures).toBe(0);
    expect(door.storedNotJournaled, figures).toBe(0);
    expect(door.examples, figures).toEqual([]);
    expect(door.missingElsewhere, figures).toBe(0);
    expect(door.unexpected, figures).toBe(0);
    expect(door.matched + door.missingInCrashWindows, figures).toBe(door.produced);
    expect(door.stored, figures).toBeLessThanOrEqual(door.produced);
  }, 300_000);
});
