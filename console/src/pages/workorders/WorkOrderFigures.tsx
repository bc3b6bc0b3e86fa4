import { useEffect, useState } from 'react';
import { api } from '../../shell/api-client';
import { translateValue, useI18n, type Translate } from '../../shell/i18n';
import { ALL_SITES, useSession } from '../../shell/session';
import { ErrorNote } from '../../ui/errors';
import { CATEGORIES, type Team } from './work-order-types';

interface ClockFigures {
  orders: number;
  mttaMinutes: number | null;
  mttrMinutes: number | null;
  responseCompliance: number | null;
  resolutionCompliance: number | null;
}

interface Figures extends ClockFigures {
  activeNow: number;
  overdueNow: number;
  byMonth: { month: string; category: string; orders: number }[];
  bySite: (ClockFigures & { site: string })[];
  byTeam: (ClockFigures & { team: string | null })[];
}

/** One colour per category, the same in every chart. */
const CATEGORY_COLOURS: Record<string, string> = {
  electrical: '#ffb020',
  plumbing: '#4cb3ff',
  hvac: '#2fd27a',
  lift: '#c77dff',
  fire: '#ff4d5a',
  security: '#8592a6',
  cleaning: '#f2d21b',
  other: '#b8c2d0',
};

function duration(t: Translate, minutes: number | null): string {
  if (minutes === null) return '—';
  if (minutes < 90) return t('wo.minutes', { n: Math.round(minutes) });
  if (minutes < 48 * 60) return t('wo.hours', { n: (minutes / 60).toFixed(1) });
  return t('wo.days', { n: (minutes / 1440).toFixed(1) });
}

function percent(share: number | null): string {
  return share === null ? '—' : `${Math.round(share * 100)}%`;
}

/** The facilities figures of the last 12 months: how fast, how often in time, and how many of what. */
export function WorkOrderFigures(props: { teams: Team[] }) {
  const { t } = useI18n();
  const session = useSession();
  const site = session.selectedSite;
  const [figures, setFigures] = useState<Figures | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let cancelled = false;
    api.get<Figures>('/work-order-figures', { site: site === ALL_SITES ? undefined : site }).then(
      (f) => {
        if (cancelled) return;
        setFigures(f);
        setError(null);
      },
      (err: unknown) => {
        if (!cancelled) setError(err);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [site]);

  if (error) return <ErrorNote error={error} />;
  if (!figures) return <p className="muted pad">{t('common.loading')}</p>;

  const kpis: [string, string, string?][] = [
    [t('wo.kpiOrders'), String(figures.orders)],
    [t('wo.kpiMtta'), duration(t, figures.mttaMinutes)],
    [t('wo.kpiMttr'), duration(t, figures.mttrMinutes)],
    [t('wo.kpiResponse'), percent(figures.responseCompliance), figures.responseCompliance !== null && figures.responseCompliance < 0.9 ? 'bad' : ''],
    [t('wo.kpiResolution'), percent(figures.resolutionCompliance), figures.resolutionCompliance !== null && figures.resolutionCompliance < 0.9 ? 'bad' : ''],
    [t('wo.kpiActive'), String(figures.activeNow)],
    [t('wo.kpiOverdue'), String(figures.overdueNow), figures.overdueNow > 0 ? 'bad' : ''],
  ];
  const teamName = (id: string | null) => (id === null ? t('wo.noTeam') : props.teams.find((x) => x.id === id)?.name ?? id);

  return (
    <div className="wo-figures" data-testid="wo-figures">
      <div className="wo-kpis">
        {kpis.map(([label, value, tone]) => (
          <div key={label} className={`wo-kpi ${tone ?? ''}`}>
            <div className="wo-kpi-value">{value}</div>
            <div className="small muted">{label}</div>
          </div>
        ))}
      </div>
      <section className="detail-section">
        <h2 className="section-title">{t('wo.byMonth')}</h2>
        <MonthChart byMonth={figures.byMonth} t={t} />
      </section>
      <section className="detail-section">
        <h2 className="section-title">{t('wo.byTeam')}</h2>
        <ClockTable rows={figures.byTeam.map((r) => ({ ...r, name: teamName(r.team) }))} t={t} />
      </section>
      {figures.bySite.length > 1 ? (
        <section className="detail-section">
          <h2 className="section-title">{t('wo.bySite')}</h2>
          <ClockTable rows={figures.bySite.map((r) => ({ ...r, name: session.siteName(r.site) }))} t={t} />
        </section>
      ) : null}
    </div>
  );
}

/** Orders per month, stacked by category. */
function MonthChart({ byMonth, t }: { byMonth: Figures['byMonth']; t: Translate }) {
  if (byMonth.length === 0) return <p className="muted small">{t('wo.none')}</p>;
  // The twelve months to the latest, empty ones too: a quiet month is a figure.
  const [lastYear, lastMonth] = [...byMonth.map((m) => m.month), new Date().toISOString().slice(0, 7)].sort().at(-1)!.split('-').map(Number) as [number, number];
  const months = Array.from({ length: 12 }, (_, i) => {
    const d = new Date(Date.UTC(lastYear, lastMonth - 12 + i, 1));
    return d.toISOString().slice(0, 7);
  });
  const totals = months.map((month) => byMonth.filter((m) => m.month === month).reduce((n, m) => n + m.orders, 0));
  const max = Math.max(1, ...totals);
  const W = 640;
  const H = 200;
  const bottom = 22;
  const barWidth = Math.min(48, (W - 40) / months.length - 6);
  const used = CATEGORIES.filter((c) => byMonth.some((m) => m.category === c));
  return (
    <figure className="wo-chart wo-month-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('wo.byMonth')}>
        {months.map((month, i) => {
          const x = 34 + i * ((W - 40) / months.length);
          let y = H - bottom;
          return (
            <g key={month}>
              {used.map((category) => {
                const n = byMonth.find((m) => m.month === month && m.category === category)?.orders ?? 0;
                const h = (n / max) * (H - bottom - 16);
                y -= h;
                return n > 0 ? (
                  <rect key={category} x={x} y={y} width={barWidth} height={h} fill={CATEGORY_COLOURS[category]}>
                    <title>{`${month} ${translateValue(t, 'woCategory', category)}: ${n}`}</title>
                  </rect>
                ) : null;
              })}
              <text x={x + barWidth / 2} y={y - 3} textAnchor="middle" className="wo-chart-text">
                {totals[i]}
              </text>
              <text x={x + barWidth / 2} y={H - 6} textAnchor="middle" className="wo-chart-text">
                {month.slice(2)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="small muted wo-legend">
        {used.map((c) => (
          <span key={c}>
            <span className="wo-key" style={{ background: CATEGORY_COLOURS[c] }} /> {translateValue(t, 'woCategory', c)}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** Per team or site: orders, MTTA, MTTR, and compliance as a bar. */
function ClockTable({ rows, t }: { rows: (ClockFigures & { name: string })[]; t: Translate }) {
  return (
    <div className="wo-clock-rows">
      {rows.map((r) => (
        <div key={r.name} className="wo-clock-row">
          <div className="wo-clock-name">{r.name}</div>
          <div className="small muted">
            {t('wo.kpiOrders')} {r.orders} · {t('wo.kpiMtta')} {duration(t, r.mttaMinutes)} · {t('wo.kpiMttr')} {duration(t, r.mttrMinutes)}
          </div>
          <div className="wo-bar" title={`${t('wo.kpiResolution')} ${percent(r.resolutionCompliance)}`}>
            <div className="wo-bar-fill" style={{ width: `${Math.round((r.resolutionCompliance ?? 0) * 100)}%` }} />
            <span className="wo-bar-label">
              {t('wo.kpiResolution')} {percent(r.resolutionCompliance)}
            </span>
          </div>
        </div>
      ))}
    </div>
  );
}
