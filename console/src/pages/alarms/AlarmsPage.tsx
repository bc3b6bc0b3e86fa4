import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../../shell/api-client';
import { PRIORITIES, type Alarm, type Priority } from '../../shell/api-types';
import { translateValue, useI18n, type Translate } from '../../shell/i18n';
import { live } from '../../shell/live';
import type { PageProps } from '../../shell/page-types';
import { navigate, pathOf } from '../../shell/router';
import { ALL_SITES, useSession } from '../../shell/session';
import { formatDate } from '../../shell/time';
import { ErrorNote } from '../../ui/errors';
import { KeyboardIcon } from '../../ui/icons';
import { AlarmDetail, type PendingAction } from './AlarmDetail';
import { AlarmRow } from './AlarmRow';
import { compareAlarms, MAX_QUEUE, useAlarmQueue, type QueueEntry } from './alarm-queue';
import { AlarmSoundToggle } from './AlarmsNavBadge';
import { ShortcutHelp } from './ShortcutHelp';

const STATE_FILTERS = ['open', 'new', 'acknowledged', 'cleared', 'closed'] as const;
type StateFilter = (typeof STATE_FILTERS)[number];
const FILTER_KEY = 'gh.alarmFilters';
/** Closed alarms are history: the latest of them, not all. */
const CLOSED_LIMIT = 200;

interface Filters {
  state: StateFilter;
  priorities: Priority[];
}

function readFilters(): Filters {
  try {
    const raw = JSON.parse(sessionStorage.getItem(FILTER_KEY) ?? 'null') as Partial<Filters> | null;
    if (raw && STATE_FILTERS.includes(raw.state as StateFilter) && Array.isArray(raw.priorities)) {
      return { state: raw.state as StateFilter, priorities: raw.priorities.filter((p): p is Priority => PRIORITIES.includes(p as Priority)) };
    }
  } catch {
    // unreadable: defaults
  }
  return { state: 'open', priorities: [] };
}

/** Recently closed alarms (not in the live queue), kept current while shown. */
function useClosedAlarms(enabled: boolean, site: string): { entries: QueueEntry[]; error: unknown; loading: boolean } {
  const [entries, setEntries] = useState<QueueEntry[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    if (!enabled) {
      setEntries([]);
      return;
    }
    let cancelled = false;
    const load = () => {
      setLoading(true);
      api.get<{ alarms: Alarm[] }>('/alarms', { state: 'closed', site: site === ALL_SITES ? undefined : site, limit: CLOSED_LIMIT }).then(
        (r) => {
          if (cancelled) return;
          setEntries(r.alarms.map((alarm) => ({ alarm, flash: 0 })));
          setError(null);
          setLoading(false);
        },
        (err: unknown) => {
          if (cancelled) return;
          setError(err);
          setLoading(false);
        },
      );
    };
    load();
    const unsubscribe = live.subscribe({
      alarm: (alarm) => {
        if (alarm.state !== 'closed' || (site !== ALL_SITES && alarm.site !== site)) return;
        setEntries((list) => [{ alarm, flash: Date.now() }, ...list.filter((e) => e.alarm.id !== alarm.id)].slice(0, CLOSED_LIMIT));
      },
      resync: load,
    });
    return () => {
      cancelled = true;
      unsubscribe();
    };
  }, [enabled, site]);
  return { entries, error, loading };
}

/** The site's date, changing at its midnight: rows leave the date out of today's times. */
function useSiteDay(timeZone: string): string {
  const [day, setDay] = useState(() => formatDate(Date.now(), timeZone));
  useEffect(() => {
    setDay(formatDate(Date.now(), timeZone));
    const timer = setInterval(() => setDay(formatDate(Date.now(), timeZone)), 60_000);
    return () => clearInterval(timer);
  }, [timeZone]);
  return day;
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || target.closest('dialog') !== null;
}

/**
 * The guard's alarm queue: most urgent first, new ones arriving live with a tone and a flash, worked
 * from the keyboard (j/k, Enter, a, o, ?) with the selected alarm's detail beside the list.
 */
export function AlarmsPage({ params }: PageProps) {
  const { t } = useI18n();
  const session = useSession();
  const queue = useAlarmQueue();
  const [filters, setFilters] = useState<Filters>(readFilters);
  const [cursor, setCursor] = useState<string | null>(null);
  const [action, setAction] = useState<PendingAction | null>(null);
  const [help, setHelp] = useState(false);
  const detailId = params[0] ?? null;
  const site = session.selectedSite;
  const closed = useClosedAlarms(filters.state === 'closed', site);
  const listRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    try {
      sessionStorage.setItem(FILTER_KEY, JSON.stringify(filters));
    } catch {
      // not kept
    }
  }, [filters]);

  const visible = useMemo(() => {
    const source = filters.state === 'closed' ? closed.entries : queue.entries;
    const prio = filters.priorities.length ? new Set(filters.priorities) : null;
    const list = source.filter(({ alarm }) => {
      if (site !== ALL_SITES && alarm.site !== site) return false;
      if (prio && !prio.has(alarm.priority)) return false;
      if (filters.state !== 'open' && filters.state !== 'closed' && alarm.state !== filters.state) return false;
      return true;
    });
    return filters.state === 'closed' ? list.sort((a, b) => (b.alarm.closedAt ?? 0) - (a.alarm.closedAt ?? 0) || compareAlarms(a.alarm, b.alarm)) : list;
  }, [queue.entries, closed.entries, filters, site]);

  const counts = useMemo(() => {
    const c: Record<Priority, number> = { 1: 0, 2: 0, 3: 0, 4: 0 };
    let unacked = 0;
    for (const { alarm } of queue.entries) {
      if (site !== ALL_SITES && alarm.site !== site) continue;
      c[alarm.priority]++;
      if (alarm.state === 'new') unacked++;
    }
    return { byPriority: c, unacked };
  }, [queue.entries, site]);

  const today = useSiteDay(session.timeZone);
  const selectedId = detailId ?? cursor;

  // keep the things the key handler needs in a ref, so the handler is attached once
  const keyState = useRef({ visible, selectedId, detailId });
  keyState.current = { visible, selectedId, detailId };

  const openDetail = useCallback((id: string, replace = false) => {
    setCursor(id);
    navigate(pathOf('alarms', id), { replace });
  }, []);

  const closeDetail = useCallback(() => {
    navigate(pathOf('alarms'));
    requestAnimationFrame(() => listRef.current?.focus({ preventScroll: true }));
  }, []);

  const pick = useCallback((id: string) => openDetail(id, keyState.current.detailId !== null), [openDetail]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      if (e.key === 'Enter' && e.target instanceof HTMLElement && e.target.closest('button, a')) return;
      const { visible: list, selectedId: current, detailId: open } = keyState.current;
      const index = current ? list.findIndex((x) => x.alarm.id === current) : -1;
      const move = (delta: number) => {
        if (list.length === 0) return;
        const next = list[Math.max(0, Math.min(list.length - 1, index < 0 ? 0 : index + delta))];
        if (!next) return;
        e.preventDefault();
        // with the detail open it follows the selection, as the video tile does in a control room
        if (open) openDetail(next.alarm.id, true);
        else setCursor(next.alarm.id);
        scrollRowIntoView(next.alarm.id);
      };
      switch (e.key) {
        case 'j':
        case 'ArrowDown':
          move(1);
          break;
        case 'k':
        case 'ArrowUp':
          move(-1);
          break;
        case 'Enter':
          if (current && !open) {
            e.preventDefault();
            openDetail(current);
          }
          break;
        case 'Escape':
          if (open) {
            e.preventDefault();
            closeDetail();
          }
          break;
        case 'a':
        case 'o':
          if (!current) break;
          e.preventDefault();
          if (!open) openDetail(current);
          setAction((prev) => ({ kind: e.key === 'a' ? 'ack' : 'door', alarmId: current, nonce: (prev?.nonce ?? 0) + 1 }));
          break;
        case '?':
          e.preventDefault();
          setHelp(true);
          break;
        default:
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [openDetail, closeDetail]);

  const togglePriority = (p: Priority) =>
    setFilters((f) => ({ ...f, priorities: f.priorities.includes(p) ? f.priorities.filter((x) => x !== p) : [...f.priorities, p].sort() }));

  const showSite = site === ALL_SITES && session.sites.length > 1;
  const error = filters.state === 'closed' ? closed.error : queue.error;
  const loading = filters.state === 'closed' ? closed.loading : queue.status === 'loading' && queue.entries.length === 0;

  return (
    <div className={`alarms-page ${detailId ? 'with-detail' : ''}`}>
      <section className="queue" aria-label={t('nav.alarms')}>
        <div className="toolbar">
          <div className="prio-filter" role="group" aria-label={t('alarm.filterPriority')}>
            {PRIORITIES.map((p) => (
              <button
                key={p}
                type="button"
                className={`prio-toggle p${p} ${filters.priorities.includes(p) ? 'on' : ''}`}
                aria-pressed={filters.priorities.includes(p)}
                data-testid={`filter-priority-${p}`}
                onClick={() => togglePriority(p)}
                title={translateValue(t, 'priority', p)}
              >
                <span className="prio-code">P{p}</span>
                <span className="prio-name">{translateValue(t, 'priority', p)}</span>
                <span className="prio-count">{counts.byPriority[p]}</span>
              </button>
            ))}
          </div>
          <label className="field inline state-filter">
            <span className="sr-only">{t('alarm.filterState')}</span>
            <select data-testid="filter-state" value={filters.state} onChange={(e) => setFilters((f) => ({ ...f, state: e.target.value as StateFilter }))}>
              {STATE_FILTERS.map((s) => (
                <option key={s} value={s}>
                  {t(`alarm.filter.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <span className="toolbar-spacer" />
          <span className="queue-summary" data-testid="queue-summary">
            {t('alarm.summary', { shown: visible.length, unacked: counts.unacked })}
          </span>
          <AlarmSoundToggle />
          <button type="button" className="icon-button" onClick={() => setHelp(true)} title={t('shortcuts.title')} aria-label={t('shortcuts.title')} data-testid="shortcut-help">
            <KeyboardIcon />
          </button>
        </div>
        <ErrorNote error={error} />
        {queue.entries.length >= MAX_QUEUE && filters.state !== 'closed' ? <p className="notice">{t('alarm.queueCapped', { max: MAX_QUEUE })}</p> : null}
        <div className="queue-list" role="listbox" aria-label={t('nav.alarms')} tabIndex={0} ref={listRef} data-testid="alarm-queue">
          {visible.map((entry) => (
            <AlarmRow
              key={entry.alarm.id}
              entry={entry}
              selected={entry.alarm.id === selectedId}
              siteName={session.siteName(entry.alarm.site)}
              deviceName={alarmPlace(entry.alarm, session.deviceName, t)}
              timeZone={session.timeZoneOf(entry.alarm.site)}
              showSite={showSite}
              today={today}
              t={t}
              onPick={pick}
            />
          ))}
          {visible.length === 0 && !loading && !error ? (
            <div className="empty-queue">
              <strong>{filters.state === 'closed' ? t('alarm.noneClosed') : t('alarm.none')}</strong>
              <span className="muted">{t('alarm.noneHint')}</span>
            </div>
          ) : null}
          {loading ? <p className="muted pad">{t('common.loading')}</p> : null}
        </div>
        <p className="shortcut-hint muted small">{t('shortcuts.hint')}</p>
      </section>
      {detailId ? <AlarmDetail id={detailId} action={action} onClose={closeDetail} /> : null}
      {help ? <ShortcutHelp onClose={() => setHelp(false)} /> : null}
    </div>
  );
}

/** What the alarm is about, in words: the device's name, else its gateway, else the site itself. */
function alarmPlace(alarm: Alarm, deviceName: (site: string, id: string) => string, t: Translate): string {
  if (alarm.device) return deviceName(alarm.site, alarm.device);
  if (alarm.gateway) return t('alarm.gateway', { gateway: alarm.gateway });
  return t('alarm.wholeSite');
}

function scrollRowIntoView(id: string) {
  requestAnimationFrame(() => {
    const row = document.querySelector(`[data-testid="alarm-row"][data-alarm-id="${CSS.escape(id)}"]`);
    row?.scrollIntoView({ block: 'nearest' });
  });
}
