import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../shell/api-client';
import { translateValue, useI18n } from '../../shell/i18n';
import { Link, pathOf } from '../../shell/router';
import { useSession } from '../../shell/session';
import { formatDate, formatDateTime } from '../../shell/time';
import { ErrorNote } from '../../ui/errors';
import { WoPriorityBadge } from '../workorders/SlaBadge';
import { useAssetNames } from '../workorders/use-asset-names';
import type { Team } from '../workorders/work-order-types';
import { actorName, UsageBar } from './equipment-parts';
import type { MaintenancePlan, PlanDetail, PlanOccurrence } from './equipment-types';
import { isoWeekday, scheduleInWords, weekdayName } from './plan-dates';

/**
 * One maintenance plan: what it is, its next six due dates, and every occurrence, raised with its
 * order or skipped with who and why. Those who manage skip the next occurrence (with a reason), and
 * pause or resume the plan.
 */
export function PlanView({ id }: { id: string }) {
  const { t } = useI18n();
  const session = useSession();
  const [plan, setPlan] = useState<PlanDetail | null>(null);
  const [teams, setTeams] = useState<Team[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [skipping, setSkipping] = useState(false);
  const [reason, setReason] = useState('');
  const generation = useRef(0);
  const manage = session.can('workorders.manage');
  const place = useAssetNames(plan ? [plan.site] : []);
  const planSite = plan?.site;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const fresh = await api.get<PlanDetail>(`/maintenance-plans/${encodeURIComponent(id)}`);
      if (mine !== generation.current) return;
      setPlan(fresh);
      setLoadError(null);
    } catch (err) {
      if (mine === generation.current) setLoadError(err);
    }
  }, [id]);

  useEffect(() => {
    void reload();
  }, [reload]);

  useEffect(() => {
    if (!planSite) return;
    api.get<{ teams: Team[] }>('/work-order-teams', { site: planSite }).then(
      (r) => setTeams(r.teams),
      () => setTeams([]),
    );
  }, [planSite]);

  const run = async (work: () => Promise<MaintenancePlan>) => {
    setBusy(true);
    setActionError(null);
    try {
      await work();
      setSkipping(false);
      setReason('');
      await reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };

  const back = (
    <Link href={pathOf('equipment', 'plans')} className="link-button eq-back">
      ← {t('eq.backToCalendar')}
    </Link>
  );
  if (!plan) {
    return (
      <div className="eq-detail">
        {back}
        {loadError ? <ErrorNote error={loadError} /> : <p className="muted">{t('common.loading')}</p>}
      </div>
    );
  }

  const path = `/maintenance-plans/${encodeURIComponent(plan.id)}`;
  const zone = session.timeZoneOf(plan.site);
  const team = teams.find((x) => x.id === plan.team);
  const skip = (e: FormEvent) => {
    e.preventDefault();
    if (reason.trim()) void run(() => api.post<MaintenancePlan>(`${path}/skip`, { reason: reason.trim() }));
  };

  return (
    <article className="eq-detail" data-testid="eq-plan-detail" data-plan={plan.id} data-active={plan.active}>
      {back}
      <header className="eq-detail-head">
        <div className="eq-asset-top">
          <WoPriorityBadge priority={plan.priority} />
          <span className="chip">{translateValue(t, 'woCategory', plan.category)}</span>
          {plan.active ? null : (
            <span className="chip warn" data-testid="eq-paused">
              {t('eq.paused')}
            </span>
          )}
        </div>
        <h1 className="eq-detail-title">{plan.name}</h1>
        <Link href={pathOf('equipment', plan.site, plan.asset)} className="eq-asset-ref">
          {[session.sites.length > 1 ? session.siteName(plan.site) : null, place(plan.site, plan.asset) ?? plan.asset].filter(Boolean).join(' · ')}
        </Link>
      </header>
      {plan.active ? null : <p className="notice">{t('eq.pausedNote')}</p>}

      {manage ? (
        <section className="detail-section eq-plan-actions" data-testid="eq-plan-actions">
          <div className="button-row">
            {plan.calendar ? (
              <button type="button" className="button" data-testid="eq-skip" disabled={busy || skipping || !plan.nextDueOn} onClick={() => setSkipping(true)}>
                {t('eq.skipNext')}
              </button>
            ) : null}
            {plan.active ? (
              <button type="button" className="button" data-testid="eq-pause" disabled={busy} onClick={() => void run(() => api.patch<MaintenancePlan>(path, { active: false }))}>
                {t('eq.pause')}
              </button>
            ) : (
              <button type="button" className="button primary" data-testid="eq-resume" disabled={busy} onClick={() => void run(() => api.patch<MaintenancePlan>(path, { active: true }))}>
                {t('eq.resume')}
              </button>
            )}
          </div>
          {skipping && plan.nextDueOn ? (
            <form className="form wo-inline-form" onSubmit={skip}>
              <label className="field">
                <span>{t('eq.skipReason', { date: plan.nextDueOn })}</span>
                <input value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} autoFocus data-testid="eq-skip-reason" />
              </label>
              <button type="button" className="button" onClick={() => setSkipping(false)}>
                {t('common.cancel')}
              </button>
              <button type="submit" className="button primary" disabled={busy || !reason.trim()} data-testid="eq-skip-confirm">
                {t('eq.skipConfirm', { date: plan.nextDueOn })}
              </button>
            </form>
          ) : null}
          {plan.key ? <p className="small muted">{t('eq.declaredPlan')}</p> : null}
          <ErrorNote error={actionError} />
        </section>
      ) : null}

      <dl className="facts eq-facts">
        <dt>{t('eq.schedule')}</dt>
        <dd data-testid="eq-plan-schedule">{scheduleInWords(t, plan)}</dd>
        <dt>{t('eq.nextDue')}</dt>
        <dd>
          {plan.nextDueOn ? (
            <>
              <strong>{plan.nextDueOn}</strong> {weekdayName(t, isoWeekday(plan.nextDueOn))}
              {plan.raiseOn ? <span className="muted nowrap"> · {t('eq.raisedOn', { date: plan.raiseOn })}</span> : null}
            </>
          ) : (
            '—'
          )}
        </dd>
        {plan.usage ? (
          <>
            <dt>{t('eq.usage')}</dt>
            <dd>
              <span className="small">{session.deviceName(plan.site, plan.usage.device)}</span>
              <UsageBar plan={plan} />
            </dd>
          </>
        ) : null}
        <dt>{t('eq.startsOn')}</dt>
        <dd>{plan.startsOn}</dd>
        <dt>{t('eq.leadDays')}</dt>
        <dd>{t('eq.leadDaysText', { n: plan.leadDays })}</dd>
        <dt>{t('wo.team')}</dt>
        <dd>{team?.name ?? plan.team}</dd>
        <dt>{t('eq.createdBy')}</dt>
        <dd>
          {plan.key ? t('eq.fromConfiguration') : plan.createdBy} · {formatDate(plan.createdAt, zone)}
        </dd>
      </dl>

      {plan.upcoming.length > 0 ? (
        <section className="detail-section">
          <h2 className="section-title">{t('eq.upcoming')}</h2>
          <ol className="eq-upcoming" data-testid="eq-upcoming">
            {plan.upcoming.map((d) => (
              <li key={d}>
                <span className="eq-due-date">{d}</span> <span className="small muted">{weekdayName(t, isoWeekday(d))}</span>
              </li>
            ))}
          </ol>
        </section>
      ) : null}

      <section className="detail-section" data-testid="eq-occurrences">
        <h2 className="section-title">{t('eq.occurrences')}</h2>
        {plan.occurrences.length === 0 ? <p className="muted small">{t('eq.noOccurrences')}</p> : null}
        <ol className="eq-occurrences">
          {plan.occurrences.map((o) => (
            <OccurrenceRow key={o.id} occurrence={o} timeZone={zone} />
          ))}
        </ol>
      </section>

      {plan.checklist.length > 0 ? (
        <section className="detail-section">
          <h2 className="section-title">{t('wo.checklist')}</h2>
          <ul className="eq-checklist">
            {plan.checklist.map((item, i) => (
              <li key={i}>{item}</li>
            ))}
          </ul>
        </section>
      ) : null}
    </article>
  );
}

/** A raised occurrence with its order and where that order stands; a skipped one with who and why. */
function OccurrenceRow({ occurrence: o, timeZone }: { occurrence: PlanOccurrence; timeZone: string }) {
  const { t } = useI18n();
  return (
    <li className={`eq-occurrence outcome-${o.outcome}`} data-testid="eq-occurrence" data-outcome={o.outcome}>
      <div className="eq-occurrence-top">
        <span className="eq-due-date">{o.dueOn}</span>
        <span className={`chip eq-status status-${o.outcome}`}>{translateValue(t, 'eqStatus', o.outcome)}</span>
        <span className="small muted">{translateValue(t, 'eqTrigger', o.trigger)}</span>
        {o.outcome === 'raised' && o.orderId ? (
          <Link href={pathOf('work-orders', o.orderId)} className="mono">
            {o.orderNumber ?? o.orderId}
          </Link>
        ) : null}
        {o.orderState ? <span className={`chip wo-state wo-state-${o.orderState}`}>{translateValue(t, 'woState', o.orderState)}</span> : null}
      </div>
      {o.outcome === 'skipped' ? (
        <div className="eq-skip-note">
          <span className="small">{t('eq.skippedBy', { who: actorName(t, o.actor), at: formatDateTime(o.recordedAt, timeZone) })}</span>
          <span className="note-text">{o.reason ?? '—'}</span>
        </div>
      ) : null}
    </li>
  );
}
