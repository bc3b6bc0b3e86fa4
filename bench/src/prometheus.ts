/** Sums the samples of a Prometheus metric whose labels match, from the text exposition format. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{([^}]*)\})? ([-\d.e+]+|NaN)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[3] ?? '';
    const ok = Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`));
    if (ok) total += Number(match[4]);
  }
  return total;
}
