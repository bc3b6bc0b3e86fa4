/**
 * Robust statistics on small samples, without allocating: the baselines take a median of a few dozen
 * values tens of millions of times a year of data, so these work in a caller's scratch array.
 */

/** Scale that makes a median absolute deviation estimate the standard deviation of normal data. */
export const MAD_TO_SIGMA = 1.4826;

/** k-th smallest of values[offset..offset+n) (k 0-based, relative), reordering them. Hoare's quickselect. */
export function selectInPlace(values: Float64Array, n: number, k: number, offset = 0): number {
  let lo = offset;
  let hi = offset + n - 1;
  k += offset;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

/** Median of values[offset..offset+n), reordering them; NaN when n is 0. */
export function medianInPlace(values: Float64Array, n: number, offset = 0): number {
  if (n === 0) return Number.NaN;
  const upper = selectInPlace(values, n, n >> 1, offset);
  if (n % 2 === 1) return upper;
  // The lower middle is the largest value left of the upper one after the selection.
  let lower = -Infinity;
  for (let i = offset; i < offset + (n >> 1); i++) if (values[i]! > lower) lower = values[i]!;
  return (lower + upper) / 2;
}

/** Median and median absolute deviation of values[offset..offset+n), reordering them. */
export function medianAndMad(values: Float64Array, n: number, offset = 0): { median: number; mad: number } {
  const median = medianInPlace(values, n, offset);
  for (let i = offset; i < offset + n; i++) values[i] = Math.abs(values[i]! - median);
  return { median, mad: medianInPlace(values, n, offset) };
}

/** q-quantile (0..1, nearest rank) of values[0..n), reordering them. */
export function quantileInPlace(values: Float64Array, n: number, q: number): number {
  if (n === 0) return Number.NaN;
  return selectInPlace(values, n, Math.min(n - 1, Math.max(0, Math.round(q * (n - 1)))));
}
