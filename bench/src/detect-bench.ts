import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gaussian, seededRandom, shapeFactor, type LoadShapeName } from '@gatehouse/firmware-sim';
import { DateTime } from 'luxon';
import { describeMachine, processRssMiB } from './machine.js';
import { dayNumber, WORKDAY, WorkCalendar } from '@gatehouse/cloud/detection';

const china = WorkCalendar.china();

/**
 * `npm run bench:detect`: the backtest CLI on 1,000 meters × one year of 15-minute readings (35 million
 * rows, rows interleaved by time as a head-end system exports them): wall time, throughput and peak
 * resident memory of the `gatehouse detect` process. Targets: under 60 s, under 1 GB.
 */
const args = process.argv.slice(2);
const meters = Number(args[args.indexOf('--meters') + 1] ?? 0) || 1000;
const days = Number(args[args.indexOf('--days') + 1] ?? 0) || 365;
const keep = args.includes('--keep');

const work = mkdtempSync(join(tmpdir(), 'gatehouse-detect-bench-'));
const input = join(work, 'readings.csv');
const output = join(work, 'scores.csv');
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli', 'bin', 'gatehouse.js');

console.log(describeMachine());
const generated = Date.now();
const rows = writeReadings(input, meters, days);
const inputBytes = statSync(input).size;
console.log(`input: ${rows.toLocaleString('en')} readings of ${meters} meters over ${days} days, ${(inputBytes / 2 ** 20).toFixed(0)} MiB (written in ${((Date.now() - generated) / 1000).toFixed(1)} s)`);

const started = Date.now();
const child = spawn(process.execPath, [cli, 'detect', '--input', input, '--output', output, '--quiet'], { stdio: ['ignore', 'inherit', 'inherit'] });
let peakRss = 0;
const sampler = setInterval(() => {
  try {
    peakRss = Math.max(peakRss, processRssMiB(child.pid!));
  } catch {
    // the process has just exited
  }
}, 100);
const code: number = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
clearInterval(sampler);
const seconds = (Date.now() - started) / 1000;
if (code !== 0) {
  rmSync(work, { recursive: true, force: true });
  throw new Error(`gatehouse detect exited with ${code}`);
}
const outputRows = countLines(output) - 1;
console.log(`gatehouse detect: ${seconds.toFixed(1)} s, ${(rows / seconds / 1e6).toFixed(2)} M rows/s, peak RSS ${peakRss.toFixed(0)} MiB; ${outputRows.toLocaleString('en')} rows written`);
if (outputRows !== rows) console.log(`MISMATCH: ${rows} rows in, ${outputRows} out`);
if (!keep) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
console.log(JSON.stringify({ detect_cli_seconds_1000_meters_year: Math.round(seconds * 10) / 10, detect_cli_rows_per_second: Math.round(rows / seconds), detect_cli_peak_rss_mib: Math.round(peakRss), rows_in: rows, rows_out: outputRows }));

/** Counters of office, residential, retail and pump loads, every 15 minutes, all meters per timestamp. */
function writeReadings(file: string, meterCount: number, dayCount: number): number {
  const random = seededRandom(2026);
  const shapes: LoadShapeName[] = ['office', 'residential', 'retail', 'pump'];
  const ids = Array.from({ length: meterCount }, (_, i) => `m${String(i + 1).padStart(4, '0')}`);
  const shapeOf = ids.map((_, i) => shapes[i % shapes.length]!);
  const ratedKw = ids.map(() => 50 + 300 * random());
  const register = ids.map(() => Math.round(1e4 + 1e6 * random()));
  const start = DateTime.fromISO('2025-01-01T00:00:00', { zone: 'Asia/Shanghai' });
  const fd = openSync(file, 'w');
  writeSync(fd, 'timestamp,meter,value\n');
  let count = 0;
  const slots = dayCount * 96;
  for (let i = 1; i <= slots; i++) {
    const local = start.plus({ minutes: 15 * i });
    const stamp = local.toISO({ suppressMilliseconds: true })!;
    // The buildings keep China's working calendar (holidays off, make-up days worked).
    const rest = china.kindOf(dayNumber(local.toISODate()!)) !== WORKDAY;
    const lines: string[] = [];
    for (let m = 0; m < meterCount; m++) {
      const f = shapeFactor(shapeOf[m]!, rest, local.hour, local.minute);
      register[m] = register[m]! + Math.max(0, (ratedKw[m]! / 4) * f * (1 + 0.04 * gaussian(random)));
      lines.push(`${stamp},${ids[m]},${register[m]!.toFixed(2)}\n`);
    }
    writeSync(fd, lines.join(''));
    count += meterCount;
  }
  closeSync(fd);
  return count;
}

function countLines(file: string): number {
  const fd = openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(1 << 24);
  let lines = 0;
  let position = 0;
  for (;;) {
    const read = readSync(fd, buffer, 0, buffer.length, position);
    if (read === 0) break;
    for (let i = 0; i < read; i++) if (buffer[i] === 10) lines++;
    position += read;
  }
  closeSync(fd);
  return lines;
}

