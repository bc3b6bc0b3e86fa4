import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';

interface DetectOptions {
  input: string;
  output: string;
  calendar: string;
  tz: string;
  tree?: string;
  unit?: string;
  settings?: string;
  quiet?: boolean;
}

/** Shows progress on stderr for files large enough to take a while (a bar on a terminal, lines otherwise). */
function progressReporter(inputBytes: number, quiet: boolean) {
  if (quiet || inputBytes < 20 * 1024 * 1024) return undefined;
  const tty = process.stderr.isTTY === true;
  let lastDraw = 0;
  let lastLine = '';
  return (stage: 'reading' | 'detecting' | 'done', done: number, total: number) => {
    const now = Date.now();
    if (stage === 'done') {
      if (tty) process.stderr.write('\r\x1b[K');
      return;
    }
    const share = total > 0 ? done / total : 1;
    if (tty) {
      if (now - lastDraw < 150 && done < total) return;
      lastDraw = now;
      const width = 30;
      const filled = Math.round(share * width);
      const label = stage === 'reading' ? `reading ${(done / 1048576).toFixed(0)}/${(total / 1048576).toFixed(0)} MiB` : `detecting ${done}/${total} meters`;
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(share * 100)}% ${label}\x1b[K`);
    } else {
      const line = `${stage} ${Math.floor(share * 4) * 25}%`;
      if (line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
    }
  };
}

function loadTree(file: string): Map<string, string[]> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`--tree ${file}: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`--tree ${file}: expected a mapping of each main meter to the list of its sub-meters`);
  const tree = new Map<string, string[]>();
  for (const [main, subs] of Object.entries(doc as Record<string, unknown>)) {
    if (!Array.isArray(subs) || subs.length === 0 || subs.some((s) => typeof s !== 'string')) throw new Error(`--tree ${file}: ${main} must list its sub-meters, e.g. ${main}: [sub-a, sub-b]`);
    tree.set(main, subs as string[]);
  }
  return tree;
}

export function registerDetectCommand(program: Command): void {
  program
    .command('detect')
    .description('backtest the energy anomaly detectors on a CSV of readings: one scored row per input row')
    .requiredOption('--input <file>', 'CSV with a header: timestamp (ISO 8601 with offset, or epoch ms), value, and optionally meter, kind (counter|gauge), unit, quality')
    .requiredOption('--output <file>', 'CSV written with the header timestamp,meter,score,anomaly,detector,expected')
    .option('--calendar <calendar>', 'working calendar: cn (China, built in), none (weekends only) or a calendar file', 'cn')
    .option('--tz <zone>', "the site's IANA time zone: days, nights and holidays are local", 'Asia/Shanghai')
    .option('--tree <file>', 'YAML mapping each main meter to its sub-meters, for the main-against-sub-meters check')
    .option('--unit <unit>', 'unit of meters whose rows give none (kWh, m3); m3 meters get the water-leak detector')
    .option('--settings <file>', "detector settings (YAML), as in the cloud configuration's detection.settings")
    .option('--quiet', 'no progress or summary on stderr')
    .action(async (opts: DetectOptions) => {
      const detection = await import('@gatehouse/cloud/detection');
      const { DateTime } = await import('luxon');
      if (!DateTime.local().setZone(opts.tz).isValid) throw new Error(`--tz ${opts.tz}: unknown time zone (expected an IANA name such as Asia/Shanghai)`);
      let size: number;
      try {
        size = statSync(opts.input).size;
      } catch (err) {
        throw new Error(`--input ${opts.input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
      let settings: unknown = {};
      if (opts.settings) settings = parseYaml(readFileSync(opts.settings, 'utf8')) ?? {};
      const parsedSettings = detection.detectionOptionsSchema.safeParse(settings);
      if (!parsedSettings.success) throw new Error(`--settings ${opts.settings}: ${parsedSettings.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
      const started = Date.now();
      let summary;
      try {
        summary = await detection.runBacktest({
          input: opts.input,
          output: opts.output,
          calendar: detection.WorkCalendar.load(opts.calendar),
          timeZone: opts.tz,
          detection: parsedSettings.data,
          tree: opts.tree ? loadTree(opts.tree) : undefined,
          defaultUnit: opts.unit,
          onProgress: progressReporter(size, opts.quiet === true),
        });
      } catch (err) {
        if (err instanceof detection.CsvInputError) throw new Error(`${opts.input}: ${err.message}`);
        throw err;
      }
      if (opts.quiet) return;
      const found = Object.entries(summary.findings)
        .filter(([, n]) => n > 0)
        .map(([d, n]) => `${d} ${n}`)
        .join(', ');
      process.stderr.write(
        `${summary.rows} rows of ${summary.meters} meters in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary.anomalousRows} anomalous rows; findings: ${found || 'none'}\n`,
      );
      if (summary.duplicateRows > 0) process.stderr.write(`${summary.duplicateRows} rows repeat a meter's timestamp: the last value counts, each row is scored\n`);
      if (summary.skippedLines > 0) {
        process.stderr.write(`${summary.skippedLines} lines skipped:\n`);
        for (const e of summary.skippedExamples.slice(0, 10)) process.stderr.write(`  line ${e.line}: ${e.reason}\n`);
      }
      if (summary.learningMeters.length > 0) {
        process.stderr.write(`${summary.learningMeters.length} meters have less than the history a baseline needs (only gaps and counter resets are scored): ${summary.learningMeters.slice(0, 5).join(', ')}${summary.learningMeters.length > 5 ? ', …' : ''}\n`);
      }
    });
}
