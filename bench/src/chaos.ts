/**
 * npm run chaos: the long chaos run. Every fault many times, partitions of several minutes, then every
 * value the meters served is looked for in PostgreSQL. Ends with one line of JSON.
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
  const ok = report.missingElsewhere === 0 && report.unexpected === 0;
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
      ok ? 'RESULT: nothing lost' : 'RESULT: FAILED',
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
    })}\n`,
  );
  process.exit(ok ? 0 : 1);
}

main().catch((err: Error) => {
  process.stderr.write(`chaos failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
