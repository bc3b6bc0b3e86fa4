import { memo } from 'react';
import { useI18n } from '../../shell/i18n';
import { formatShort } from '../../shell/time';
import type { FindingChart } from './work-order-types';

const W = 640;
const H = 180;
const PAD = { left: 40, right: 8, top: 8, bottom: 22 };

/**
 * The finding's evidence as a technician reads it: the consumption measured (line) against the band
 * the meter normally stays within (shaded) and the expectation (dashed), per 15 minutes.
 */
export const FindingChartView = memo(function FindingChartView(props: { chart: FindingChart; unit: string; timeZone: string }) {
  const { t } = useI18n();
  const { chart } = props;
  const n = chart.actual.length;
  if (n === 0) return null;
  const values = [...chart.actual, ...chart.upper, ...chart.lower].filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(1e-9, ...values);
  const x = (i: number) => PAD.left + (i / Math.max(1, n - 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom);
  const path = (series: (number | null)[]) => {
    let d = '';
    let pen = false;
    series.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    return d;
  };
  // The band as one polygon per stretch where both edges are known.
  const bands: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length > 1) bands.push([...run.map((i) => `${x(i).toFixed(1)},${y(chart.upper[i]!).toFixed(1)}`), ...[...run].reverse().map((i) => `${x(i).toFixed(1)},${y(chart.lower[i]!).toFixed(1)}`)].join(' '));
    run = [];
  };
  for (let i = 0; i < n; i++) {
    if (chart.upper[i] !== null && chart.lower[i] !== null) run.push(i);
    else flush();
  }
  flush();
  const end = chart.from + (n - 1) * chart.step;
  return (
    <figure className="wo-chart" data-testid="wo-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('wo.chartLabel')} preserveAspectRatio="none">
        {bands.map((points, i) => (
          <polygon key={i} points={points} className="wo-chart-band" />
        ))}
        <path d={path(chart.expected)} className="wo-chart-expected" />
        <path d={path(chart.actual)} className="wo-chart-actual" />
        <line x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} className="wo-chart-axis" />
        <text x={PAD.left - 4} y={PAD.top + 10} textAnchor="end" className="wo-chart-text">
          {max.toFixed(max < 10 ? 1 : 0)}
        </text>
        <text x={PAD.left - 4} y={y(0)} textAnchor="end" className="wo-chart-text">
          0
        </text>
        <text x={PAD.left} y={H - 4} className="wo-chart-text">
          {formatShort(chart.from, props.timeZone)}
        </text>
        <text x={W - PAD.right} y={H - 4} textAnchor="end" className="wo-chart-text">
          {formatShort(end, props.timeZone)}
        </text>
      </svg>
      <figcaption className="small muted">
        <span className="wo-key wo-key-actual" /> {t('wo.chartActual', { unit: props.unit })} <span className="wo-key wo-key-band" /> {t('wo.chartBand')}
      </figcaption>
    </figure>
  );
});
