/**
 * npm run chaos: the long chaos run. Every fault many times, partitions of several minutes, then every
 * value the meters served is looked for in PostgreSQL. Ends with one line of JSON.
 *
 * A simulated OSDP door is forced open every few seconds meanwhile: at the end every (site, source) has
 * at most one alarm that is not closed, and every door_forced_open event stored is counted exactly once
 * on its alarm.
 *
 * Environment: GH_CHAOS_MINUTES (20), GH_CHAOS_PARTITION_SECONDS (180), GH_CHAOS_METERS (10),
 * GH_TEST_PG_URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { describeMachine } from './machine.js';
import { runChaos } from './chaos/harness.js';

const minutes = Number(process.env.GH_CHAOS_MINUTES ?? 20);
const partitionSeconds = Number(process.env.GH_CHAOS_PARTITION_SECONDS ?? 180);

async function main() {
  process.stdout.write(`${describeMachine()}\n`);
  const report = await runChaos({
    durationMs: minutes * 60_000,
    faultEveryMs: 10_000,
    partitionMs: partitionSeconds * 1000,
    meters: Number(process.env.GH_CHAOS_METERS ?? 10),
    pollIntervalMs: 500,
    pgAdminUrl: process.env.GH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
  });
  const door = report.door;
  const alarmsOk =
    door.duplicateOpen === 0 &&
    door.doorForcedOccurrences === door.stored &&
    door.doorForcedNotCounted === 0 &&
    door.doorForcedCountedTwice === 0 &&
    door.doorForcedCountedUnknown === 0 &&
    door.journaled === door.stored &&
    door.journaledNotStored === 0 &&
    door.storedNotJournaled === 0 &&
    door.missingElsewhere === 0 &&
    door.unexpected === 0;
  const ok = report.missingElsewhere === 0 && report.unexpected === 0 && alarmsOk;
  process.stdout.write(
    [
      '',
      `faults inflicted: ${Object.entries(report.faults).map(([k, v]) => `${k} ×${v}`).join(', ')} over ${report.durationSeconds} s`,
      `values served by the meters:     ${report.served}`,
      `stored, equal and in order:      ${report.matched}`,
      `lost in gateway crash windows:   ${report.missingInCrashWindows} (read in the instant before a kill -9, never journaled)`,
      `lost anywhere else:              ${report.missingElsewhere}`,
      `stored but not served (dup/bad): ${report.unexpected}`,
      `ranges holding replayed batches: ${report.historicalBatches}`,
      ...report.examples.map((e) => `  e.g. ${e}`),
      `door forced open by the reader:  ${door.produced}`,
      `  with its event stored:         ${door.matched} (+${door.reportedLate} reported late, after a gateway restart)`,
      `  missed around gateway kills:   ${door.missingInCrashWindows} (opened just before a kill -9, or while it was down)`,
      `  missed anywhere else:          ${door.missingElsewhere}`,
      `  events nobody forced:          ${door.unexpected}`,
      `door_forced_open journaled:      ${door.journaled} at the gateway; stored: ${door.stored} (journaled, not stored: ${door.journaledNotStored}; stored, not journaled: ${door.storedNotJournaled})`,
      `occurrences on their alarms:     ${door.doorForcedOccurrences} over ${door.doorForcedAlarms} alarms (${door.closedByGuard} closed by the guard); events counted twice: ${door.doorForcedCountedTwice}, not counted: ${door.doorForcedNotCounted}`,
      `sources with two alarms open:    ${door.duplicateOpen} (alarms by type: ${Object.entries(door.alarmsByType).map(([k, v]) => `${k} ${v}`).join(', ')})`,
      ...door.examples.map((e) => `  e.g. ${e}`),
      ok ? 'RESULT: nothing lost, every alarm raised once' : 'RESULT: FAILED',
      '',
    ].join('\n'),
  );
  process.stdout.write(
    `${JSON.stringify({
      chaos_seconds: report.durationSeconds,
      faults: report.faults,
      served_values: report.served,
      stored_values_matched: report.matched,
      lost_in_gateway_crash_windows: report.missingInCrashWindows,
      lost_elsewhere: report.missingElsewhere,
      unexpected_values: report.unexpected,
      ranges_with_replayed_batches: report.historicalBatches,
      alarms_duplicate_open: door.duplicateOpen,
      alarms_by_type: door.alarmsByType,
      door_forced_produced: door.produced,
      door_forced_missing_in_gateway_crash_windows: door.missingInCrashWindows,
      door_forced_missing_elsewhere: door.missingElsewhere,
      door_forced_unexpected: door.unexpected,
      door_forced_events_journaled: door.journaled,
      door_forced_events_stored: door.stored,
      door_forced_occurrences_counted: door.doorForcedOccurrences,
      door_forced_events_counted_twice: door.doorForcedCountedTwice,
      door_forced_events_not_counted: door.doorForcedNotCounted,
      door_forced_alarms: door.doorForcedAlarms,
      door_forced_alarms_closed_by_guard: door.closedByGuard,
    })}\n`,
  );
  process.exit(ok ? 0 : 1);
}

main().catch((err: Error) => {
  process.stderr.write(`chaos failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
