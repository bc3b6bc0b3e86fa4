import type { FieldColumn } from '../storage/time-series-store.js';

/**
 * Lays the columns of many devices on one time axis (every bucket start any of them has, in order),
 * with null where a device has no bucket. Devices almost always share the axis, so a column that is the
 * axis itself is taken as it is; only the others are spread out.
 */
export function deviceTable(columns: readonly FieldColumn[]): { axis: number[]; rows: (number | null)[][] } {
  const axis = commonAxis(columns);
  let index: Map<number, number> | undefined;
  const rows = columns.map((column) => {
    if (sameStarts(column.ts, axis)) return column.values;
    index ??= new Map(axis.map((ts, i) => [ts, i]));
    const row = new Array<number | null>(axis.length).fill(null);
    for (let k = 0; k < column.ts.length; k++) row[index.get(column.ts[k]!)!] = column.values[k] ?? null;
    return row;
  });
  return { axis, rows };
}

/** The longest column's starts when every other column has the same or none; else the union, sorted. */
function commonAxis(columns: readonly FieldColumn[]): number[] {
  const longest = columns.reduce<readonly number[]>((best, c) => (c.ts.length > best.length ? c.ts : best), []);
  if (columns.every((c) => c.ts.length === 0 || sameStarts(c.ts, longest))) return [...longest];
  const starts = new Set<number>();
  for (const column of columns) for (const ts of column.ts) starts.add(ts);
  return [...starts].sort((a, b) => a - b);
}

function sameStarts(ts: readonly number[], axis: readonly number[]): boolean {
  if (ts.length !== axis.length) return false;
  for (let i = 0; i < ts.length; i++) if (ts[i] !== axis[i]) return false;
  return true;
}
