import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../../shell/api-client';
import type { Alarm } from '../../shell/api-types';
import { translateValue, useI18n } from '../../shell/i18n';
import { Link, pathOf } from '../../shell/router';
import { useSession } from '../../shell/session';
import { formatDateTime, formatMinute } from '../../shell/time';
import { Lightbox } from '../../ui/Dialog';
import { ErrorNote } from '../../ui/errors';
import { FindingChartView } from './FindingChartView';
import { PhotoSection, type WorkOrderPhoto } from './PhotoSection';
import { useAssetNames } from './use-asset-names';
import { SlaBadge, WoPriorityBadge } from './SlaBadge';
import { ACTIONS_FROM, type Team, type WorkOrder, type WorkOrderAction, type WorkOrderHistory } from './work-order-types';

type Detail = WorkOrder & { history: WorkOrderHistory[]; photos: WorkOrderPhoto[] };

/** Actions that need a word from the person: the reason of a hold, why it is cancelled or reopened. */
const NEEDS_TEXT: Partial<Record<WorkOrderAction, 'reason' | 'note'>> = { hold: 'reason', cancel: 'note', reopen: 'note' };

/**
 * One work order: what and where, its SLA, the evidence that raised it (the finding's chart against
 * its expected band, the alarm's pictures), the checklist, the next steps for those who manage orders,
 * the requester's rating, comments and the whole history.
 */
export function WorkOrderDetail(props: { id: string; teams: Team[]; onChanged: () => void }) {
  const { t } = useI18n();
  const session = useSession();
  const [order, setOrder] = useState<Detail | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [pending, setPending] = useState<WorkOrderAction | null>(null);
  const [text, setText] = useState('');
  const [assignee, setAssignee] = useState('');
  const [comment, setComment] = useState('');
  const [rating, setRating] = useState(0);
  const [ratingComment, setRatingComment] = useState('');
  const [alarm, setAlarm] = useState<Alarm | null>(null);
  const [picture, setPicture] = useState<string | null>(null);
  const generation = useRef(0);
  const { id, onChanged } = props;
  const manage = session.can('workorders.manage');
  const place = useAssetNames(order ? [order.site] : []);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const fresh = await api.get<Detail>(`/work-orders/${encodeURIComponent(id)}`);
      if (mine !== generation.current) return;
      setOrder(fresh);
      setLoadError(null);
    } catch (err) {
      if (mine === generation.current) setLoadError(err);
    }
  }, [id]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const alarmId = order?.evidence?.kind === 'alarm' ? String(order.evidence.alarmId ?? '') : '';
  useEffect(() => {
    if (!alarmId) return;
    api.get<Alarm>(`/alarms/${encodeURIComponent(alarmId)}`).then(setAlarm, () => setAlarm(null));
  }, [alarmId]);

  const run = async (work: () => Promise<Detail | WorkOrder>) => {
    setBusy(true);
    setActionError(null);
    try {
      await work();
      setPending(null);
      setText('');
      setComment('');
      await reload();
      onChanged();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };

  const act = (action: WorkOrderAction) => {
    const needs = NEEDS_TEXT[action];
    if ((needs && !pending) || (action === 'assign' && pending !== 'assign')) {
      setPending(action);
      setActionError(null);
      return;
    }
    const body: Record<string, unknown> = { action };
    if (needs) body[needs] = text.trim();
    if (action === 'assign') body.assignee = assignee.trim();
    void run(() => api.post<WorkOrder>(`/work-orders/${encodeURIComponent(id)}/actions`, body));
  };

  if (loadError && !order) {
    return (
      <div className="wo-detail">
        <Link href={pathOf('work-orders')} className="link-button">
          ← {t('wo.backToBoard')}
        </Link>
        <ErrorNote error={loadError} />
      </div>
    );
  }
  if (!order) return <p className="muted pad">{t('common.loading')}</p>;

  const zone = session.timeZoneOf(order.site);
  const team = props.teams.find((x) => x.id === order.team);
  const members = team?.members ?? [...new Set(props.teams.flatMap((x) => x.members))];
  // A chart only where something was measured (a counter reset has nothing to draw).
  const evidenceChart = order.evidence?.kind === 'finding' ? order.evidence.chart ?? null : null;
  const chart = evidenceChart && evidenceChart.actual.some((v) => v !== null) ? evidenceChart : null;
  const active = ['open', 'assigned', 'in_progress', 'on_hold'].includes(order.state);

  const submitComment = (e: FormEvent) => {
    e.preventDefault();
    if (comment.trim()) void run(() => api.post<WorkOrder>(`/work-orders/${encodeURIComponent(id)}/comments`, { text: comment.trim() }));
  };

  return (
    <article className="wo-detail" data-testid="wo-detail" data-state={order.state}>
      <Link href={pathOf('work-orders')} className="link-button wo-back">
        ← {t('wo.backToBoard')}
      </Link>
      <header className="wo-detail-head">
        <div className="wo-card-top">
          <WoPriorityBadge priority={order.priority} />
          <span className="mono muted">{order.number}</span>
          <span className={`chip wo-state wo-state-${order.state}`} data-testid="wo-state">
            {translateValue(t, 'woState', order.state)}
          </span>
        </div>
        <h1 className="wo-detail-title">{order.title}</h1>
        <div className="wo-sla-row">
          <span>
            {t('wo.responseDue')}: <SlaBadge status={order.responseSla} which="response" dueAt={order.responseDueAt} timeZone={zone} />
          </span>
          <span>
            {t('wo.resolutionDue')}: <SlaBadge status={order.resolutionSla} which="resolution" dueAt={order.resolutionDueAt} timeZone={zone} />
          </span>
        </div>
      </header>

      <dl className="facts wo-facts">
        <dt>{t('wo.category')}</dt>
        <dd>{translateValue(t, 'woCategory', order.category)}</dd>
        <dt>{t('wo.where')}</dt>
        <dd>
          {[session.siteName(order.site), place(order.site, order.building), order.floor && t('wo.floorN', { floor: order.floor }), order.unit, place(order.site, order.asset), order.device && session.deviceName(order.site, order.device)]
            .filter(Boolean)
            .join(' · ')}
          {order.asset ? (
            <>
              {' '}
              <Link href={pathOf('equipment', order.site, order.asset)} className="nowrap" data-testid="wo-asset-link">
                {t('wo.assetRecord')} →
              </Link>
            </>
          ) : null}
        </dd>
        <dt>{t('wo.team')}</dt>
        <dd>{team?.name ?? order.team ?? '—'}</dd>
        <dt>{t('wo.assignee')}</dt>
        <dd data-testid="wo-assignee">{order.assignee ?? t('wo.unassigned')}</dd>
        {order.requesterName || order.requesterContact ? (
          <>
            <dt>{t('wo.requester')}</dt>
            <dd>{[order.requesterName, order.requesterContact].filter(Boolean).join(' · ')}</dd>
          </>
        ) : null}
        <dt>{t('wo.raised')}</dt>
        <dd>
          {formatDateTime(order.createdAt, zone)} · {order.createdBy === 'system' ? t('wo.raisedBySystem') : order.createdBy}
          {order.occurrences > 1 ? ` · ${t('wo.occurrences', { n: order.occurrences })}` : ''}
        </dd>
        {order.holdReason ? (
          <>
            <dt>{t('wo.holdReason')}</dt>
            <dd>{order.holdReason}</dd>
          </>
        ) : null}
        {order.conditionClearedAt !== null ? (
          <>
            <dt>{t('wo.condition')}</dt>
            <dd className="wo-cleared">{t('wo.conditionClearedAt', { at: formatDateTime(order.conditionClearedAt, zone) })}</dd>
          </>
        ) : null}
      </dl>

      {order.description ? <p className="note-text wo-description">{order.description}</p> : null}

      {chart ? (
        <section className="detail-section">
          <h2 className="section-title">{t('wo.evidence')}</h2>
          <FindingChartView chart={chart} unit={String(order.evidence?.unit ?? '')} timeZone={zone} />
          {order.evidence?.excess != null ? (
            <p className="small muted">
              {t('wo.excess', { excess: Number(order.evidence.excess).toFixed(1), unit: String(order.evidence.unit ?? ''), cost: order.evidence.costCny != null ? Number(order.evidence.costCny).toFixed(0) : '—' })}
            </p>
          ) : null}
        </section>
      ) : null}
      {alarm && alarm.snapshotUrls.length > 0 ? (
        <section className="detail-section">
          <h2 className="section-title">{t('wo.evidence')}</h2>
          <div className="snapshot-strip">
            {alarm.snapshotUrls.map((url) => (
              <button key={url} type="button" className="thumb" onClick={() => setPicture(url)}>
                <img src={url} alt={t('wo.picture')} loading="lazy" />
              </button>
            ))}
          </div>
        </section>
      ) : null}

      {manage && ACTIONS_FROM[order.state].length > 0 ? (
        <section className="detail-section wo-actions" data-testid="wo-actions">
          <div className="button-row">
            {ACTIONS_FROM[order.state].map((action, i) => (
              <button
                key={action}
                type="button"
                disabled={busy}
                className={`button ${i === 0 ? 'primary' : ''} ${action === 'cancel' ? 'wo-cancel' : ''}`}
                data-testid={`wo-action-${action}`}
                onClick={() => act(action)}
              >
                {translateValue(t, 'woAction', action)}
              </button>
            ))}
          </div>
          {pending === 'assign' ? (
            <form
              className="form wo-inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                act('assign');
              }}
            >
              <label className="field">
                <span>{t('wo.assignee')}</span>
                <input list="wo-members" value={assignee} data-testid="wo-assignee-input" onChange={(e) => setAssignee(e.target.value)} autoFocus required />
                <datalist id="wo-members">
                  {members.map((m) => (
                    <option key={m} value={m} />
                  ))}
                </datalist>
              </label>
              <button type="submit" className="button primary" disabled={busy || !assignee.trim()} data-testid="wo-confirm">
                {t('woAction.assign')}
              </button>
            </form>
          ) : pending && NEEDS_TEXT[pending] ? (
            <form
              className="form wo-inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                act(pending);
              }}
            >
              <label className="field">
                <span>{NEEDS_TEXT[pending] === 'reason' ? t('wo.holdReason') : t('wo.note')}</span>
                <input value={text} data-testid="wo-text-input" onChange={(e) => setText(e.target.value)} autoFocus required maxLength={NEEDS_TEXT[pending] === 'reason' ? 200 : 1000} />
              </label>
              <button type="submit" className="button primary" disabled={busy || !text.trim()} data-testid="wo-confirm">
                {translateValue(t, 'woAction', pending)}
              </button>
            </form>
          ) : null}
          <ErrorNote error={actionError} />
        </section>
      ) : null}

      {order.checklist.length > 0 ? (
        <section className="detail-section">
          <h2 className="section-title">{t('wo.checklist')}</h2>
          <ul className="wo-checklist" data-testid="wo-checklist">
            {order.checklist.map((item, index) => (
              <li key={index}>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={item.done}
                    disabled={!manage || busy || !active}
                    onChange={(e) => {
                      const done = e.target.checked;
                      // Ticked at once on the phone; the answer (or an error) follows.
                      setOrder({ ...order, checklist: order.checklist.map((c, i) => (i === index ? { ...c, done } : c)) });
                      void run(() => api.patch<WorkOrder>(`/work-orders/${encodeURIComponent(id)}`, { checklistDone: [{ index, done }] }));
                    }}
                  />
                  <span>
                    <span className={item.done ? 'wo-done' : ''}>{item.text}</span>
                    {item.done && item.doneBy ? <span className="muted small wo-done-by">{item.doneAt !== null ? `${item.doneBy} · ${formatMinute(item.doneAt, zone)}` : item.doneBy}</span> : null}
                  </span>
                </label>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <PhotoSection orderId={order.id} photos={order.photos} canAdd={manage && order.state !== 'closed' && order.state !== 'cancelled'} onAdded={() => void reload()} />

      {order.state === 'completed' && manage ? (
        <section className="detail-section" data-testid="wo-rating">
          <h2 className="section-title">{t('wo.rating')}</h2>
          <div className="wo-stars" role="radiogroup" aria-label={t('wo.rating')}>
            {[1, 2, 3, 4, 5].map((n) => (
              <button key={n} type="button" role="radio" aria-checked={rating === n} className={`wo-star ${n <= rating ? 'on' : ''}`} data-testid={`wo-star-${n}`} onClick={() => setRating(n)}>
                ★<span className="sr-only">{n}</span>
              </button>
            ))}
          </div>
          <input className="wo-rating-comment" value={ratingComment} placeholder={t('wo.ratingComment')} onChange={(e) => setRatingComment(e.target.value)} maxLength={1000} />
          <button
            type="button"
            className="button primary"
            disabled={busy || rating === 0}
            data-testid="wo-rate"
            onClick={() => void run(() => api.post<WorkOrder>(`/work-orders/${encodeURIComponent(id)}/rating`, { rating, ...(ratingComment.trim() ? { comment: ratingComment.trim() } : {}) }))}
          >
            {t('wo.rate')}
          </button>
          {rating > 0 && rating <= 2 ? <p className="small muted">{t('wo.lowRatingReopens')}</p> : null}
        </section>
      ) : null}
      {order.rating !== null ? (
        <p className="small">
          {t('wo.rated', { n: order.rating })}
          {order.ratingComment ? ` · ${order.ratingComment}` : ''}
        </p>
      ) : null}

      <section className="detail-section">
        <h2 className="section-title">{t('wo.history')}</h2>
        <form className="form wo-inline-form" onSubmit={submitComment}>
          <label className="field">
            <span className="sr-only">{t('wo.comment')}</span>
            <input value={comment} placeholder={t('wo.comment')} data-testid="wo-comment-input" onChange={(e) => setComment(e.target.value)} maxLength={2000} />
          </label>
          <button type="submit" className="button" disabled={busy || !comment.trim()} data-testid="wo-comment">
            {t('wo.addComment')}
          </button>
        </form>
        <ol className="wo-history" data-testid="wo-history">
          {[...order.history].reverse().map((h) => (
            <li key={h.id}>
              <span className="muted small nowrap">{formatDateTime(h.at, zone)}</span> <strong>{h.actor === 'system' ? t('wo.raisedBySystem') : h.actor}</strong>{' '}
              {translateValue(t, 'woEvent', h.kind)}
              {h.toState && h.fromState !== h.toState ? ` → ${translateValue(t, 'woState', h.toState)}` : ''}
              {h.note ? <div className="note-text">{h.note}</div> : null}
            </li>
          ))}
        </ol>
      </section>
      {picture ? <Lightbox src={picture} onClose={() => setPicture(null)} /> : null}
    </article>
  );
}
