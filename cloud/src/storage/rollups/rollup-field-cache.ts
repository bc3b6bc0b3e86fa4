import type { FieldColumn, RollupField, SeriesRef, TimeSeriesStore } from '../time-series-store.js';
import { NOMINAL_LEVEL_MS, type RollupLevel } from './site-calendar.js';

/** Buckets newer than this many bucket lengths are read from the store every time: they still change. */
const LIVE_BUCKETS = 2;
/** An entry is read again after this long whatever the change log says (rollups aged out by retention). */
const MAX_AGE_MS = 10 * 60_000;
/** Values kept at most (two numbers each): a few tens of MiB. */
const MAX_VALUES = 2_000_000;

interface Entry {
  from: number;
  /** the entry holds every bucket starting in [from, through) */
  through: number;
  fetchedAt: number;
  column: FieldColumn;
}

type Source = Pick<TimeSeriesStore, 'readRollupField' | 'rollupChangesSince'>;

/**
 * Keeps the settled part of the rollup fields dashboards ask for again and again (a year of daily
 * energy for every meter of a site): buckets older than the last two are kept per series, the newest are
 * always read from the store. Whatever any cloud instance recomputes is in the rollup change log
 * (rollup_changes): each read first takes the changes since the last one and drops the series they
 * touch, so a late reading or a replayed backlog shows at once, here and behind every other instance.
 */
export class RollupFieldCache {
  private readonly entries = new Map<string, Entry>();
  private readonly keysBySeries = new Map<number, Set<string>>();
  private values = 0;
  private cursor: number | undefined;

  constructor(
    private readonly source: Source,
    private readonly now: () => number = Date.now,
  ) {}

  async read(level: RollupLevel, field: RollupField, series: readonly SeriesRef[], from: number, to: number): Promise<Map<number, FieldColumn>> {
    await this.forgetChanged();
    const now = this.now();
    // Buckets starting from here on may still change at every refresh: not worth keeping.
    const settledBefore = Math.min(to, now - LIVE_BUCKETS * NOMINAL_LEVEL_MS[level]);
    if (settledBefore <= from) return this.source.readRollupField(level, field, series, from, to);

    const out = new Map<number, FieldColumn>();
    const missing: SeriesRef[] = [];
    for (const s of series) {
      const entry = this.entries.get(key(level, field, s.id));
      if (entry && entry.from <= from && entry.through >= settledBefore && now - entry.fetchedAt < MAX_AGE_MS) out.set(s.id, slice(entry.column, from, settledBefore));
      else missing.push(s);
    }
    if (missing.length > 0) {
      const read = await this.source.readRollupField(level, field, missing, from, settledBefore);
      for (const s of missing) {
        const column = read.get(s.id) ?? { ts: [], values: [] };
        this.keep(level, field, s.id, { from, through: settledBefore, fetchedAt: now, column });
        out.set(s.id, column);
      }
    }
    if (settledBefore < to) {
      const live = await this.source.readRollupField(level, field, series, settledBefore, to);
      for (const s of series) {
        const kept = out.get(s.id)!;
        const fresh = live.get(s.id);
        if (fresh && fresh.ts.length > 0) out.set(s.id, { ts: [...kept.ts, ...fresh.ts], values: [...kept.values, ...fresh.values] });
      }
    }
    return out;
  }

  /** Drops every series a refresh recomputed (in this instance or another) since the last read. */
  private async forgetChanged(): Promise<void> {
    const changes = await this.source.rollupChangesSince(this.cursor ?? 0);
    // The first read starts from an empty cache: what changed before it needs no forgetting.
    if (this.cursor !== undefined) {
      for (const [seriesId, changedFrom] of changes.fromBySeries) {
        for (const k of this.keysBySeries.get(seriesId) ?? []) {
          const entry = this.entries.get(k)!;
          // The change falls in a bucket that starts before `through` if it is less than a bucket past it.
          if (changedFrom < entry.through + NOMINAL_LEVEL_MS[levelOf(k)] * 1.1) this.drop(k);
        }
      }
    }
    this.cursor = changes.last;
  }

  private keep(level: RollupLevel, field: RollupField, seriesId: number, entry: Entry): void {
    const k = key(level, field, seriesId);
    if (this.entries.has(k)) this.drop(k);
    this.entries.set(k, entry);
    let keys = this.keysBySeries.get(seriesId);
    if (!keys) this.keysBySeries.set(seriesId, (keys = new Set()));
    keys.add(k);
    this.values += entry.column.ts.length;
    // Oldest first (a Map iterates in insertion order) until back under the bound.
    for (const oldest of this.entries.keys()) {
      if (this.values <= MAX_VALUES) break;
      this.drop(oldest);
    }
  }

  private drop(k: string): void {
    const entry = this.entries.get(k);
    if (!entry) return;
    this.entries.delete(k);
    this.values -= entry.column.ts.length;
    const seriesId = Number(k.slice(k.lastIndexOf('|') + 1));
    this.keysBySeries.get(seriesId)?.delete(k);
  }
}

const key = (level: RollupLevel, field: RollupField, seriesId: number) => `${level}|${field}|${seriesId}`;
const levelOf = (k: string) => k.slice(0, k.indexOf('|')) as RollupLevel;

/** The buckets of a column that start in [from, to). */
function slice(column: FieldColumn, from: number, to: number): FieldColumn {
  let start = 0;
  while (start < column.ts.length && column.ts[start]! < from) start++;
  let end = start;
  while (end < column.ts.length && column.ts[end]! < to) end++;
  if (start === 0 && end === column.ts.length) return column;
  return { ts: column.ts.slice(start, end), values: column.values.slice(start, end) };
}
