import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, type Query } from '../../shell/api-client';
import type { AuditEntry } from '../../shell/api-types';
import { translateValue, useI18n } from '../../shell/i18n';
import { ALL_SITES, useSession } from '../../shell/session';
import { zonedInputToEpoch, zoneLabel } from '../../shell/time';
import { AuditList } from '../../ui/AuditList';
import { ErrorNote } from '../../ui/errors';

const PAGE_SIZE = 100;
const MAX_ROWS = 5000;
const TARGET_TYPES = ['alarm', 'door', 'user', 'token'] as const;
/** The actions the cloud records, for the filter (others still show, by their name). */
const ACTIONS = [
  'alarm.raise',
  'alarm.repeat',
  'alarm.reoccur',
  'alarm.acknowledge',
  'alarm.clear',
  'alarm.condition_end',
  'alarm.close',
  'alarm.escalate',
  'door.open',
  'door.close',
  'login',
  'login.failed',
  'user.create',
  'user.update',
  'user.unlock',
  'user.password',
  'token.create',
  'token.revoke',
] as const;

interface Filters {
  action: string;
  targetType: string;
  targetId: string;
  actor: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { action: '', targetType: '', targetId: '', actor: '', from: '', to: '' };

/** Who did what, when: the append-only audit log, newest first. */
export function AuditPage() {
  const { t } = useI18n();
  const session = useSession();
  const site = session.selectedSite;
  const tz = session.timeZone;
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Query | null>(null);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [badRange, setBadRange] = useState(false);
  const generation = useRef(0);

  const fetchPage = useCallback(async (query: Query, before: number | null) => {
    const mine = before !== null ? generation.current : ++generation.current;
    setLoading(true);
    setError(null);
    try {
      const r = await api.get<{ entries: AuditEntry[]; nextBefore: number | null }>('/audit', { ...query, limit: PAGE_SIZE, before });
      if (mine !== generation.current) return;
      setEntries((prev) => (before !== null ? [...prev, ...r.entries].slice(0, MAX_ROWS) : r.entries));
      setNextBefore(r.nextBefore);
    } catch (err) {
      if (mine === generation.current) setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  const search = useCallback(
    (f: Filters) => {
      const from = f.from ? zonedInputToEpoch(f.from, tz) : undefined;
      const to = f.to ? zonedInputToEpoch(f.to, tz) : undefined;
      if (from !== undefined && to !== undefined && from >= to) {
        setBadRange(true);
        return;
      }
      setBadRange(false);
      const q: Query = {
        site: site === ALL_SITES ? undefined : site,
        action: f.action || undefined,
        targetType: f.targetType || undefined,
        targetId: f.targetId.trim() || undefined,
        actor: f.actor.trim() || undefined,
        from,
        to,
      };
      setApplied(q);
      void fetchPage(q, null);
    },
    [site, tz, fetchPage],
  );

  useEffect(() => {
    setDraft(EMPTY);
    search(EMPTY);
  }, [search]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    search(draft);
  };

  return (
    <div className="audit-page page">
      <div className="page-head">
        <h1>{t('audit.title')}</h1>
        <span className="muted small">{t('events.inZone', { zone: zoneLabel(tz) })}</span>
      </div>
      <form className="filters" onSubmit={submit} data-testid="audit-filters">
        <label className="field">
          <span>{t('audit.action')}</span>
          <select value={draft.action} data-testid="audit-action" onChange={(e) => setDraft({ ...draft, action: e.target.value })}>
            <option value="">{t('audit.allActions')}</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {translateValue(t, 'auditAction', a)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('audit.targetType')}</span>
          <select value={draft.targetType} data-testid="audit-target-type" onChange={(e) => setDraft({ ...draft, targetType: e.target.value })}>
            <option value="">{t('audit.allTargets')}</option>
            {TARGET_TYPES.map((type) => (
              <option key={type} value={type}>
                {translateValue(t, 'targetType', type)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('audit.targetId')}</span>
          <input type="text" value={draft.targetId} data-testid="audit-target-id" onChange={(e) => setDraft({ ...draft, targetId: e.target.value })} />
        </label>
        <label className="field">
          <span>{t('audit.actor')}</span>
          <input type="text" value={draft.actor} data-testid="audit-actor" autoCapitalize="off" onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />
        </label>
        <label className="field">
          <span>{t('events.from')}</span>
          <input type="datetime-local" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </label>
        <label className="field">
          <span>{t('events.to')}</span>
          <input type="datetime-local" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <div className="filter-actions">
          <button type="submit" className="button primary" data-testid="audit-search">
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
      </form>
      {badRange ? (
        <p className="error-note" role="alert">
          {t('events.problem.badRange')}
        </p>
      ) : null}
      <ErrorNote error={error} />
      <div className="results-head">
        <span className="muted">{t('audit.count', { count: entries.length })}</span>
      </div>
      {entries.length === 0 && !loading && !error ? <p className="muted">{t('audit.none')}</p> : null}
      {entries.length > 0 ? <AuditList entries={entries} /> : null}
      <div className="more">
        {loading ? <span className="muted">{t('common.loading')}</span> : null}
        {!loading && nextBefore !== null && applied && entries.length < MAX_ROWS ? (
          <button type="button" className="button" data-testid="audit-more" onClick={() => void fetchPage(applied, nextBefore)}>
            {t('common.loadMore')}
          </button>
        ) : null}
      </div>
    </div>
  );
}
