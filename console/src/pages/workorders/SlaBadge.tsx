import { translateValue, useI18n } from '../../shell/i18n';
import { formatMinute } from '../../shell/time';
import type { SlaStatus } from './work-order-types';

/** Where an order stands against its due time: a coloured word and the time it is due. */
export function SlaBadge(props: { status: SlaStatus; which: 'response' | 'resolution'; dueAt: number; timeZone: string }) {
  const { t } = useI18n();
  const word = translateValue(t, 'woSla', props.status);
  const what = props.which === 'response' ? t('wo.responseDue') : t('wo.resolutionDue');
  return (
    <span className={`chip wo-sla wo-sla-${props.status}`} data-testid="wo-sla" title={`${what}: ${formatMinute(props.dueAt, props.timeZone)}`}>
      {word} · {formatMinute(props.dueAt, props.timeZone)}
    </span>
  );
}

/** A work order's priority, named as work orders name them (urgent … low). */
export function WoPriorityBadge({ priority }: { priority: number }) {
  const { t } = useI18n();
  return (
    <span className={`prio prio-${priority}`} title={translateValue(t, 'woPriority', priority)}>
      <span className="prio-code">P{priority}</span>
      <span className="prio-name">{translateValue(t, 'woPriority', priority)}</span>
    </span>
  );
}
