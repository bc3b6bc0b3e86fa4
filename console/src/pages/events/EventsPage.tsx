import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, apiUrl, type Query } from '../../shell/api-client';
import { EVENT_TYPES, type DeviceEvent, type EventType } from '../../shell/api-types';
import { translateValue, useI18n } from '../../shell/i18n';
import { ALL_SITES, useSession } from '../../shell/session';
import { epochToZonedInput, zonedInputToEpoch, zoneLabel } from '../../shell/time';
import { Lightbox } from '../../ui/Dialog';
import { ErrorNote } from '../../ui/errors';
import { EventTable } from '../../ui/EventTable';
import { MultiSelect } from '../../ui/MultiSelect';
import { SiteChooser } from '../../ui/SiteChooser';

const PAGE_SIZE = 100;
/** Rows kept on screen; past it, narrow the search or export CSV. */
const MAX_ROWS = 5000;

interface Filters {
  device: string;
  types: EventType[];
  from: string;
  to: string;
  card: string;
}

const EMPTY: Filters = { device: '', types: [], from: '', to: '', card: '' };

type Problem = 'badRange' | 'badCard' | 'badTime';

/** The filters as API parameters (times read in the zone); a problem instead when they do not make sense. */
function toQuery(f: Filters, site: string, timeZone: string): Query | Problem {
  const from = f.from ? zonedInputToEpoch(f.from, timeZone) : undefined;
  const to = f.to ? zonedInputToEpoch(f.to, timeZone) : undefined;
  if ((f.from && from === undefined) || (f.to && to === undefined)) return 'badTime';
  if (from !== undefined && to !== undefined && from >= to) return 'badRange';
  const card = f.card.trim();
  if (card && !/^\d{4}$/.test(card)) return 'badCard';
  return {
    site,
    device: f.device || undefined,
    type: f.types.length ? f.types.join(',') : undefined,
    from,
    to,
    card: card || undefined,
  };
}

/** Door, reader and camera events: searched, paged, exported. */
export function EventsPage() {
  const { t } = useI18n();
  const session = useSession();
  const site = session.selectedSite;
  const tz = session.timeZone;
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Query | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [events, setEvents] = useState<DeviceEvent[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [picture, setPicture] = useState<string | null>(null);
  const generation = useRef(0);

  const devices = useMemo(
    () =>
      session.devices
        .filter((d) => d.kind !== 'meter' && (site === ALL_SITES || d.site === site))
        .sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id)),
    [session.devices, site],
  );

  const fetchPage = useCallback(async (query: Query, cursor: string | null) => {
    const mine = cursor ? generation.current : ++generation.current;
    setLoading(true);
    setError(null);
    try {
      const r = await api.get<{ events: DeviceEvent[]; nextCursor: string | null; truncated: boolean }>('/events', { ...query, limit: PAGE_SIZE, cursor });
      if (mine !== generation.current) return;
      setEvents((prev) => (cursor ? [...prev, ...r.events].slice(0, MAX_ROWS) : r.events));
      setNextCursor(r.nextCursor);
      setTruncated(r.truncated);
    } catch (err) {
      if (mine === generation.current) setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  const search = useCallback(
    (filters: Filters) => {
      const q = toQuery(filters, site, tz);
      if (typeof q === 'string') {
        setProblem(q);
        return;
      }
      setProblem(null);
      setApplied(q);
      void fetchPage(q, null);
    },
    [site, tz, fetchPage],
  );

  // a different site: its devices differ, start over
  useEffect(() => {
    setDraft(EMPTY);
    if (site !== ALL_SITES) search(EMPTY);
  }, [search, site]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    search(draft);
  };

  const preset = (hours: number) => {
    const now = Date.now();
    setDraft((d) => ({ ...d, from: epochToZonedInput(now - hours * 3_600_000, tz), to: '' }));
  };

  // the event search is per site (its times are in the site's zone)
  if (site === ALL_SITES) return <SiteChooser message={t('events.chooseSite')} />;

  const csvHref = applied ? apiUrl('/events.csv', applied) : undefined;

  return (
    <div className="events-page page">
      <div className="page-head">
        <h1>{t('events.title')}</h1>
        <span className="muted small">{t('events.inZone', { zone: zoneLabel(tz) })}</span>
      </div>
      <form className="filters" onSubmit={submit} data-testid="event-filters">
        <label className="field">
          <span>{t('events.device')}</span>
          <select data-testid="event-device" value={draft.device} onChange={(e) => setDraft({ ...draft, device: e.target.value })}>
            <option value="">{t('events.allDevices')}</option>
            {devices.map((d) => (
              <option key={`${d.site}/${d.id}`} value={d.id}>
                {d.name ?? d.id}
              </option>
            ))}
          </select>
        </label>
        <div className="field">
          <span>{t('events.type')}</span>
          <MultiSelect
            label={t('events.type')}
            testId="event-type"
            options={EVENT_TYPES.map((value) => ({ value, label: translateValue(t, 'eventType', value) }))}
            selected={draft.types}
            onChange={(types) => setDraft({ ...draft, types })}
            allLabel={t('events.allTypes')}
            countLabel={(n) => t('events.typesSelected', { count: n })}
          />
        </div>
        <label className="field">
          <span>{t('events.from')}</span>
          <input type="datetime-local" data-testid="event-from" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </label>
        <label className="field">
          <span>{t('events.to')}</span>
          <input type="datetime-local" data-testid="event-to" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <label className="field narrow">
          <span>{t('events.cardLast4')}</span>
          <input
            type="text"
            inputMode="numeric"
            maxLength={4}
            pattern="\d{4}"
            placeholder="1234"
            data-testid="event-card"
            value={draft.card}
            onChange={(e) => setDraft({ ...draft, card: e.target.value.replace(/\D/g, '') })}
          />
        </label>
        <div className="filter-actions">
          <button type="submit" className="button primary" data-testid="event-search">
            {t('common.search')}
          </button>
          <button
            type="button"
            className="button"
            onClick={() => {
              setDraft(EMPTY);
              search(EMPTY);
            }}
          >
            {t('common.reset')}
          </button>
        </div>
        <div className="presets">
          <span className="muted small">{t('events.quickRange')}</span>
          {[1, 24, 24 * 7].map((h) => (
            <button key={h} type="button" className="chip-button" onClick={() => preset(h)}>
              {t(h === 1 ? 'events.lastHour' : h === 24 ? 'events.last24h' : 'events.last7d')}
            </button>
          ))}
        </div>
      </form>
      {problem ? (
        <p className="error-note" role="alert">
          {t(`events.problem.${problem}`)}
        </p>
      ) : null}
      <ErrorNote error={error} />
      <div className="results-head">
        <span className="muted">{t('events.count', { count: events.length })}</span>
        {truncated ? <span className="notice small">{t('events.truncated')}</span> : null}
        <span className="toolbar-spacer" />
        {csvHref ? (
          <a className="button" href={csvHref} download data-testid="event-csv">
            {t('events.exportCsv')}
          </a>
        ) : null}
      </div>
      {events.length === 0 && !loading && !error ? <p className="muted">{t('events.none')}</p> : null}
      {events.length > 0 ? <EventTable events={events} onPicture={setPicture} /> : null}
      <div className="more">
        {loading ? <span className="muted">{t('common.loading')}</span> : null}
        {!loading && nextCursor && applied && events.length < MAX_ROWS ? (
          <button type="button" className="button" data-testid="event-more" onClick={() => void fetchPage(applied, nextCursor)}>
            {t('common.loadMore')}
          </button>
        ) : null}
        {events.length >= MAX_ROWS ? <span className="notice small">{t('events.maxRows', { max: MAX_ROWS })}</span> : null}
      </div>
      {picture ? <Lightbox src={picture} onClose={() => setPicture(null)} /> : null}
    </div>
  );
}
