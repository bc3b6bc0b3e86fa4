import { translateValue, useI18n, type Translate } from '../../shell/i18n';
import { Link, pathOf } from '../../shell/router';
import type { MaintenancePlan } from './equipment-types';
import { daysBetween, formatAmount, scheduleInWords } from './plan-dates';

/** Within this many days of its end a warranty is worth a word on the card. */
const WARRANTY_WARNING_DAYS = 60;

/** An asset's kind in words where the dictionary knows it (lift → 电梯), else as the ledger has it. */
export function kindName(t: Translate, kind: string): string {
  return translateValue(t, 'eqKind', kind);
}

export function KindChip({ kind }: { kind: string }) {
  const { t } = useI18n();
  return <span className="chip eq-kind">{kindName(t, kind)}</span>;
}

/** A badge when the warranty has ended or ends within 60 days; nothing while it runs comfortably. */
export function WarrantyBadge({ until, today }: { until: string | null; today: string }) {
  const { t } = useI18n();
  if (!until) return null;
  const left = daysBetween(today, until);
  if (left < 0) {
    return (
      <span className="chip bad eq-warranty" data-testid="eq-warranty" data-warranty="expired">
        {t('eq.warrantyExpired', { date: until })}
      </span>
    );
  }
  if (left <= WARRANTY_WARNING_DAYS) {
    return (
      <span className="chip warn eq-warranty" data-testid="eq-warranty" data-warranty="ending">
        {t('eq.warrantyEnding', { date: until, days: left })}
      </span>
    );
  }
  return null;
}

/** How far a usage-based plan has come towards its next service: `since / every`. */
export function UsageBar({ plan }: { plan: MaintenancePlan }) {
  const { t } = useI18n();
  const progress = plan.usageProgress;
  if (!progress || !plan.usage) return null;
  const share = progress.since === null ? 0 : Math.min(1, Math.max(0, progress.since / progress.every));
  const label =
    progress.since === null
      ? t('eq.usageNotRead', { every: formatAmount(progress.every), metric: plan.usage.metric })
      : t('eq.usageProgress', { since: formatAmount(progress.since), every: formatAmount(progress.every), metric: plan.usage.metric });
  return (
    <div className={`eq-usage ${share >= 1 ? 'due' : ''}`} data-testid="eq-usage" title={label}>
      <div className="eq-usage-track" role="progressbar" aria-valuemin={0} aria-valuemax={progress.every} aria-valuenow={progress.since ?? 0} aria-label={label}>
        <div className="eq-usage-fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <span className="small muted">{label}</span>
    </div>
  );
}

/** A plan in a list: its name, schedule, next due date (and when its order is raised), usage and pause. */
export function PlanRow({ plan, assetName }: { plan: MaintenancePlan; assetName?: string }) {
  const { t } = useI18n();
  return (
    <li className={`eq-plan-row ${plan.active ? '' : 'paused'}`} data-testid="eq-plan-row" data-plan={plan.id}>
      <div className="eq-plan-main">
        <Link href={pathOf('equipment', 'plans', plan.id)} className="eq-plan-name">
          {plan.name}
        </Link>
        {plan.active ? null : <span className="chip warn">{t('eq.paused')}</span>}
        <div className="small muted">
          {[assetName, translateValue(t, 'woCategory', plan.category), scheduleInWords(t, plan)].filter(Boolean).join(' · ')}
        </div>
      </div>
      <div className="eq-plan-due" title={plan.active ? undefined : t('eq.pausedNote')}>
        {plan.nextDueOn ? (
          <>
            <span className="eq-due-date">{plan.nextDueOn}</span>
            <span className="small muted">{plan.raiseOn && plan.raiseOn !== plan.nextDueOn ? t('eq.raisedOn', { date: plan.raiseOn }) : t('eq.nextDue')}</span>
          </>
        ) : (
          <span className="small muted">{plan.calendar ? '—' : t('eq.byUsageOnly')}</span>
        )}
      </div>
      <UsageBar plan={plan} />
    </li>
  );
}

/** Plans soonest due first; usage-only plans (no date) after them, by name. */
export function byNextDue(a: MaintenancePlan, b: MaintenancePlan): number {
  if (a.active !== b.active) return a.active ? -1 : 1;
  if (a.nextDueOn !== b.nextDueOn) {
    if (a.nextDueOn === null) return 1;
    if (b.nextDueOn === null) return -1;
    return a.nextDueOn < b.nextDueOn ? -1 : 1;
  }
  return a.name.localeCompare(b.name);
}

/** Who recorded an occurrence: a person, or the plan service itself. */
export function actorName(t: Translate, actor: string): string {
  return actor === 'system' ? t('wo.raisedBySystem') : actor;
}
