import { useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../../shell/api-client';
import { translateValue, useI18n } from '../../shell/i18n';
import { Link, pathOf } from '../../shell/router';
import { ALL_SITES, useSession } from '../../shell/session';
import { ErrorNote } from '../../ui/errors';
import { useAssetNames } from '../workorders/use-asset-names';
import { actorName, byNextDue, PlanRow } from './equipment-parts';
import type { CalendarEntry, CalendarStatus, MaintenancePlan, PlanDetail } from './equipment-types';
import { isoWeekday, monthGrid, monthOf, monthTitle, shiftMonth, todayIn, useNarrowScreen, weekdayName } from './plan-dates';

const STATUSES: readonly CalendarStatus[] = ['raised', 'skipped', 'planned'];
/** A phone's day cell has room for this many dots; more are counted. */
const MAX_DOTS = 3;

type AssetName = (site: string, id: string | null) => string | null;
/** Why an occurrence was skipped and by whom, keyed `${planId}/${dueOn}`. */
type SkipNotes = ReadonlyMap<string, { reason: string | null; actor: string }>;

/**
 * The plan calendar: a month, Monday first, with each day's occurrences (raised with their order,
 * skipped with why, planned), then every plan by its next due date. On a phone the month is a
 * compact grid of dots and the tapped day's entries are listed beneath it in full.
 */
export function PlanCalendarView() {
  const { t, lang } = useI18n();
  const session = useSession();
  const site = session.selectedSite;
  const today = todayIn(session.timeZone);
  const [month, setMonth] = useState(() => monthOf(today));
  const [entries, setEntries] = useState<CalendarEntry[] | null>(null);
  const [plans, setPlans] = useState<MaintenancePlan[] | null>(null);
  const [skipNotes, setSkipNotes] = useState<SkipNotes>(new Map());
  const [error, setError] = useState<unknown>(null);
  const [picked, setPicked] = useState<string | null>(null);
  const narrow = useNarrowScreen();
  const generation = useRef(0);
  const days = useMemo(() => monthGrid(month), [month]);
  const siteQuery = site === ALL_SITES ? undefined : site;

  useEffect(() => {
    const mine = ++generation.current;
    setEntries(null);
    api.get<{ entries: CalendarEntry[] }>('/maintenance-calendar', { site: siteQuery, from: days[0], to: days[days.length - 1] }).then(
      (r) => {
        if (mine !== generation.current) return;
        setEntries(r.entries);
        setError(null);
      },
      (err: unknown) => {
        if (mine === generation.current) setError(err);
      },
    );
  }, [siteQuery, days]);

  useEffect(() => {
    api.get<{ plans: MaintenancePlan[] }>('/maintenance-plans', { site: siteQuery }).then(
      (r) => setPlans(r.plans),
      (err: unknown) => setError(err),
    );
  }, [siteQuery]);

  // The calendar says that an occurrence was skipped; its plan says why and who.
  const skippedPlans = [...new Set((entries ?? []).filter((e) => e.status === 'skipped').map((e) => e.planId))].sort().join(',');
  useEffect(() => {
    if (!skippedPlans) return;
    let cancelled = false;
    void Promise.all(skippedPlans.split(',').map((id) => api.get<PlanDetail>(`/maintenance-plans/${encodeURIComponent(id)}`).catch(() => null))).then((details) => {
      if (cancelled) return;
      const notes = new Map<string, { reason: string | null; actor: string }>();
      for (const plan of details) for (const o of plan?.occurrences ?? []) if (o.outcome === 'skipped') notes.set(`${o.planId}/${o.dueOn}`, { reason: o.reason, actor: o.actor });
      setSkipNotes(notes);
    });
    return () => {
      cancelled = true;
    };
  }, [skippedPlans]);

  const place = useAssetNames([...(entries ?? []), ...(plans ?? [])].map((x) => x.site));
  const byDay = useMemo(() => {
    const map = new Map<string, CalendarEntry[]>();
    for (const e of entries ?? []) map.set(e.dueOn, [...(map.get(e.dueOn) ?? []), e]);
    return map;
  }, [entries]);

  const inMonth = (d: string) => monthOf(d) === month;
  const selected = picked && inMonth(picked) ? picked : defaultDay(month, today, byDay);
  const go = (delta: number) => {
    setMonth(shiftMonth(month, delta));
    setPicked(null);
  };

  return (
    <div className="eq-calendar-view">
      <div className="eq-cal-head">
        <div className="eq-cal-nav">
          <button type="button" className="icon-button" data-testid="eq-cal-prev" aria-label={t('eq.prevMonth')} title={t('eq.prevMonth')} onClick={() => go(-1)}>
            ‹
          </button>
          <h2 className="eq-cal-title" data-testid="eq-cal-month" data-month={month}>
            {monthTitle(month, lang)}
          </h2>
          <button type="button" className="icon-button" data-testid="eq-cal-next" aria-label={t('eq.nextMonth')} title={t('eq.nextMonth')} onClick={() => go(1)}>
            ›
          </button>
          {month !== monthOf(today) ? (
            <button
              type="button"
              className="chip-button"
              onClick={() => {
                setMonth(monthOf(today));
                setPicked(today);
              }}
            >
              {t('eq.today')}
            </button>
          ) : null}
        </div>
        <ul className="eq-cal-legend small">
          {STATUSES.map((s) => (
            <li key={s} className={`eq-legend-item status-${s}`}>
              <span className="eq-dot" aria-hidden="true" />
              {translateValue(t, 'eqStatus', s)}
            </li>
          ))}
        </ul>
      </div>
      <ErrorNote error={error} />

      <div className={`eq-cal ${narrow ? 'compact' : ''}`} role="grid" aria-label={monthTitle(month, lang)} data-testid="eq-calendar">
        <div className="eq-cal-row eq-cal-weekdays" role="row">
          {[1, 2, 3, 4, 5, 6, 7].map((w) => (
            <div key={w} role="columnheader" className={w >= 6 ? 'weekend' : ''}>
              {weekdayName(t, w)}
            </div>
          ))}
        </div>
        {weeksOf(days).map((week) => (
          <div key={week[0]} className="eq-cal-row" role="row">
            {week.map((day) => (
              <DayCell
                key={day}
                day={day}
                entries={byDay.get(day) ?? []}
                outside={!inMonth(day)}
                today={day === today}
                selected={narrow && day === selected}
                compact={narrow}
                onPick={() => setPicked(day)}
                place={place}
                skipNotes={skipNotes}
              />
            ))}
          </div>
        ))}
      </div>
      {entries === null && !error ? <p className="muted small">{t('common.loading')}</p> : null}

      {narrow ? <DayAgenda day={selected} entries={byDay.get(selected) ?? []} place={place} skipNotes={skipNotes} /> : null}

      <section className="detail-section eq-all-plans">
        <h2 className="section-title">{t('eq.allPlans')}</h2>
        {plans !== null && plans.length === 0 ? <p className="muted small">{t('eq.noPlansAnywhere')}</p> : null}
        <ul className="eq-plan-list" data-testid="eq-plan-list">
          {[...(plans ?? [])].sort(byNextDue).map((plan) => (
            <PlanRow key={plan.id} plan={plan} assetName={placeOf(place, plan, site === ALL_SITES ? session.siteName(plan.site) : null)} />
          ))}
        </ul>
      </section>
    </div>
  );
}

function placeOf(place: AssetName, x: { site: string; asset: string }, siteName: string | null): string {
  return [siteName, place(x.site, x.asset) ?? x.asset].filter(Boolean).join(' · ');
}

function weeksOf(days: string[]): string[][] {
  const weeks: string[][] = [];
  for (let i = 0; i < days.length; i += 7) weeks.push(days.slice(i, i + 7));
  return weeks;
}

/** The day a phone shows first: today in this month, else its first day with something on it, else the 1st. */
function defaultDay(month: string, today: string, byDay: ReadonlyMap<string, CalendarEntry[]>): string {
  if (monthOf(today) === month) return today;
  const busy = [...byDay.keys()].filter((d) => monthOf(d) === month).sort()[0];
  return busy ?? `${month}-01`;
}

function DayCell(props: {
  day: string;
  entries: CalendarEntry[];
  outside: boolean;
  today: boolean;
  selected: boolean;
  compact: boolean;
  onPick: () => void;
  place: AssetName;
  skipNotes: SkipNotes;
}) {
  const { t } = useI18n();
  const { day, entries } = props;
  const classes = ['eq-cal-day', props.outside ? 'outside' : '', props.today ? 'today' : '', props.selected ? 'selected' : '', isoWeekday(day) >= 6 ? 'weekend' : ''].filter(Boolean).join(' ');
  const dayNumber = Number(day.slice(8));
  if (props.compact) {
    const label = `${day}${props.today ? ` (${t('eq.today')})` : ''}: ${entries.length === 0 ? t('eq.nothingDue') : t('eq.nEntries', { n: entries.length })}`;
    return (
      <button type="button" role="gridcell" className={classes} aria-label={label} aria-pressed={props.selected} data-testid="eq-cal-day" data-date={day} onClick={props.onPick}>
        <span className="eq-cal-daynum">{dayNumber}</span>
        <span className="eq-cal-dots" aria-hidden="true">
          {entries.slice(0, MAX_DOTS).map((e, i) => (
            <span key={i} className={`eq-dot status-${e.status}`} />
          ))}
          {entries.length > MAX_DOTS ? <span className="eq-more">+{entries.length - MAX_DOTS}</span> : null}
        </span>
      </button>
    );
  }
  return (
    <div role="gridcell" className={classes} data-testid="eq-cal-day" data-date={day}>
      <span className="eq-cal-daynum">
        {dayNumber}
        {props.today ? <span className="eq-today-word">{t('eq.today')}</span> : null}
      </span>
      <ul className="eq-cal-entries">
        {entries.map((e, i) => (
          <li key={`${e.planId}/${i}`}>
            <CalendarEntryLink entry={e} place={props.place} skipNote={props.skipNotes.get(`${e.planId}/${e.dueOn}`)} compact />
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The tapped day's entries in full, under a phone's compact month. */
function DayAgenda(props: { day: string; entries: CalendarEntry[]; place: AssetName; skipNotes: SkipNotes }) {
  const { t } = useI18n();
  return (
    <section className="eq-agenda" data-testid="eq-cal-agenda" data-date={props.day} aria-live="polite">
      <h3 className="eq-agenda-title">
        {props.day} {weekdayName(t, isoWeekday(props.day))}
      </h3>
      {props.entries.length === 0 ? <p className="muted small">{t('eq.nothingDue')}</p> : null}
      <ul className="eq-agenda-list">
        {props.entries.map((e, i) => (
          <li key={`${e.planId}/${i}`}>
            <CalendarEntryLink entry={e} place={props.place} skipNote={props.skipNotes.get(`${e.planId}/${e.dueOn}`)} compact={false} />
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * One occurrence on the calendar: a raised one opens its order, the others their plan. A skipped one
 * is struck through with its reason as the tooltip (and written out where there is room).
 */
function CalendarEntryLink(props: { entry: CalendarEntry; place: AssetName; skipNote: { reason: string | null; actor: string } | undefined; compact: boolean }) {
  const { t } = useI18n();
  const { entry, skipNote } = props;
  const asset = props.place(entry.site, entry.asset) ?? entry.asset;
  const status = translateValue(t, 'eqStatus', entry.status);
  const reason = entry.status === 'skipped' && skipNote ? t('eq.skippedBecause', { reason: skipNote.reason ?? '—', who: actorName(t, skipNote.actor) }) : null;
  const href = entry.status === 'raised' && entry.orderId ? pathOf('work-orders', entry.orderId) : pathOf('equipment', 'plans', entry.planId);
  const title = [`${asset} · ${entry.planName}`, entry.orderNumber ? `${status} ${entry.orderNumber}` : status, reason].filter(Boolean).join('\n');
  return (
    <Link href={href} className={`eq-cal-entry status-${entry.status}`} data-testid="eq-cal-entry" data-status={entry.status} data-plan={entry.planId} title={title}>
      <span className="eq-entry-asset">{asset}</span>
      <span className="eq-entry-plan">{entry.planName}</span>
      {props.compact ? null : (
        <span className="eq-entry-status small">
          <span className={`chip eq-status status-${entry.status}`}>{status}</span>
          {entry.orderNumber ? <span className="mono">{entry.orderNumber}</span> : null}
          {entry.orderState ? <span className={`chip wo-state wo-state-${entry.orderState}`}>{translateValue(t, 'woState', entry.orderState)}</span> : null}
        </span>
      )}
      {reason && !props.compact ? <span className="eq-entry-reason small">{reason}</span> : null}
    </Link>
  );
}
