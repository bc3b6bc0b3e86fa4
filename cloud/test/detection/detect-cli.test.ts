import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { shapeFactor } from '@gatehouse/firmware-sim';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { dayNumber, WORKDAY, WorkCalendar } from '../../src/detection/index.js';

const china = WorkCalendar.china();

const run = promisify(execFile);
const CLI = new URL('../../../cli/bin/gatehouse.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gh-detect-'));

interface Row {
  ts: number;
  meter: string;
  value: number;
}

/**
 * Two office meters, 15-minute counters over five weeks from 2025-03-03 (Shanghai), deterministic noise.
 * The offices keep China's working calendar: Friday 4 April 2025 (清明节) they are closed.
 */
function officeReadings(): Row[] {
  const start = DateTime.fromISO('2025-03-03T00:00:00', { zone: 'Asia/Shanghai' });
  const rows: Row[] = [];
  const registers: Record<string, number> = { 'office-a': 120_000, 'office-b': 80_000 };
  for (let i = 1; i <= 35 * 96; i++) {
    const local = start.plus({ minutes: 15 * i });
    const rest = china.kindOf(dayNumber(local.toISODate()!)) !== WORKDAY;
    for (const [k, meter] of ['office-a', 'office-b'].entries()) {
      const wobble = 1 + 0.03 * Math.sin(i * 1.7 + k);
      registers[meter]! += (k === 0 ? 50 : 30) * shapeFactor('office', rest, local.hour, local.minute) * wobble;
      rows.push({ ts: local.toMillis(), meter, value: Math.round(registers[meter]! * 100) / 100 });
    }
  }
  return rows;
}

function toCsv(rows: Row[], header = 'timestamp,meter,value', stamp = (ts: number) => DateTime.fromMillis(ts, { zone: 'Asia/Shanghai' }).toISO({ suppressMilliseconds: true })!): string {
  return `${header}\n${rows.map((r) => `${stamp(r.ts)},${r.meter},${r.value}`).join('\n')}\n`;
}

function readScores(file: string): { timestamp: string; meter: string; score: number; anomaly: string; detector: string; expected: string }[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  expect(header).toBe('timestamp,meter,score,anomaly,detector,expected');
  return lines.map((line) => {
    const [timestamp, meter, score, anomaly, detector, expected] = line.split(',');
    return { timestamp: timestamp!, meter: meter!, score: Number(score), anomaly: anomaly!, detector: detector!, expected: expected! };
  });
}

describe('gatehouse detect', () => {
  it('scores every input row in the exact format, flagging a gap, a counter reset and a spike', async () => {
    const rows = officeReadings();
    const at = (iso: string) => DateTime.fromISO(iso, { zone: 'Asia/Shanghai' }).toMillis();
    // office-a: 3 hours without data on Tuesday 1 April; its counter reset to 0 on Wednesday 2 April
    // at 10:00; 400 kWh in the quarter hour ending 15:00 on Thursday 3 April (ten times its peak).
    const gapFrom = at('2025-04-01T09:00:00');
    const gapTo = at('2025-04-01T12:00:00');
    let offset = 0;
    const edited: Row[] = [];
    for (const r of rows) {
      if (r.meter === 'office-a') {
        if (r.ts > gapFrom && r.ts < gapTo) continue;
        if (r.ts === at('2025-04-02T10:00:00')) offset = -r.value;
        if (r.ts === at('2025-04-03T15:00:00')) offset += 400;
        edited.push({ ...r, value: Math.round((r.value + offset) * 100) / 100 });
      } else edited.push(r);
    }
    // Rows in any order, one of them twice.
    const shuffled = [...edited].reverse();
    shuffled.push(edited[500]!);
    const input = join(dir, 'readings.csv');
    const output = join(dir, 'scores.csv');
    writeFileSync(input, toCsv(shuffled));
    const { stderr } = await run(process.execPath, [CLI, 'detect', '--input', input, '--output', output]);
    expect(stderr).toMatch(/1 rows repeat a meter's timestamp/);

    const scores = readScores(output);
    expect(scores).toHaveLength(shuffled.length);
    const flagged = scores.filter((s) => s.anomaly === 'true');
    const row = (meter: string, iso: string) => scores.find((s) => s.meter === meter && s.timestamp === iso)!;
    expect(row('office-a', '2025-04-01T12:00:00+08:00')).toMatchObject({ anomaly: 'true', detector: 'comm_loss' });
    expect(row('office-a', '2025-04-02T10:00:00+08:00')).toMatchObject({ anomaly: 'true', detector: 'counter_reset' });
    expect(row('office-a', '2025-04-03T15:00:00+08:00')).toMatchObject({ anomaly: 'true', detector: 'spike' });
    // Nothing else on either meter: the office closed for Qingming (Friday 4 April) is no anomaly.
    expect(flagged.map((f) => `${f.meter} ${f.timestamp} ${f.detector}`)).toEqual([
      'office-a 2025-04-01T12:00:00+08:00 comm_loss',
      'office-a 2025-04-02T10:00:00+08:00 counter_reset',
      'office-a 2025-04-03T15:00:00+08:00 spike',
    ]);
    // Scores: at least 1 on anomalies, below 1 elsewhere; expected consumption once the baseline is learned.
    for (const s of scores) expect(s.anomaly === 'true' ? s.score >= 1 : s.score < 1).toBe(true);
    expect(row('office-b', '2025-04-03T15:00:00+08:00').expected).toMatch(/^\d+(\.\d+)?$/);
    expect(row('office-b', '2025-03-05T15:00:00+08:00').expected).toBe('');

    // Without the calendar, the closed Friday looks like a shift down on both meters.
    const plain = join(dir, 'scores-no-calendar.csv');
    await run(process.execPath, [CLI, 'detect', '--input', input, '--output', plain, '--calendar', 'none', '--quiet']);
    const onHoliday = readScores(plain).filter((s) => s.anomaly === 'true' && s.timestamp.startsWith('2025-04-04'));
    expect(new Set(onHoliday.map((s) => `${s.meter} ${s.detector}`))).toEqual(new Set(['office-a level_shift', 'office-b level_shift']));
  });

  it('writes epoch milliseconds back when it was given them', async () => {
    const rows = officeReadings().filter((r) => r.meter === 'office-b').slice(0, 500);
    const input = join(dir, 'epoch.csv');
    const output = join(dir, 'epoch-scores.csv');
    // Columns in another order, timestamps as epoch milliseconds.
    writeFileSync(input, `value,timestamp,meter\n${rows.map((r) => `${r.value},${r.ts},${r.meter}`).join('\n')}\n`);
    await run(process.execPath, [CLI, 'detect', '--input', input, '--output', output, '--quiet']);
    const scores = readScores(output);
    expect(scores).toHaveLength(500);
    expect(scores[0]!.timestamp).toBe(String(rows[0]!.ts));
  });

  it('refuses an unusable file naming the line, and skips a few bad lines, saying which', async () => {
    const rows = officeReadings().slice(0, 2000);
    const good = toCsv(rows).split('\n');
    const output = join(dir, 'out.csv');

    const noHeader = join(dir, 'no-header.csv');
    writeFileSync(noHeader, good.slice(1).join('\n'));
    await expect(run(process.execPath, [CLI, 'detect', '--input', noHeader, '--output', output])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/line 1: the header must name the columns timestamp and value/),
    });

    const manyBad = join(dir, 'many-bad.csv');
    const broken = [...good];
    for (let i = 10; i < 200; i += 2) broken[i] = `2025-03-04 09:00,office-a,12`; // no offset
    writeFileSync(manyBad, broken.join('\n'));
    await expect(run(process.execPath, [CLI, 'detect', '--input', manyBad, '--output', output])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/line 11: timestamp "2025-03-04 09:00" is neither ISO 8601 with an offset nor epoch milliseconds; 95 of 2000 lines cannot be used/),
    });

    const fewBad = join(dir, 'few-bad.csv');
    const dented = [...good];
    dented[7] = `${good[7]!.split(',')[0]},office-a,twelve`;
    writeFileSync(fewBad, dented.join('\n'));
    const { stderr } = await run(process.execPath, [CLI, 'detect', '--input', fewBad, '--output', output]);
    expect(stderr).toMatch(/1 lines skipped:\n {2}line 8: value "twelve" is not a number/);
    expect(readScores(output)).toHaveLength(1999);
  });
});
