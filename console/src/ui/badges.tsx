import { memo } from 'react';
import type { AlarmState, Priority } from '../shell/api-types';
import { translateValue, useI18n } from '../shell/i18n';

export const PriorityBadge = memo(function PriorityBadge({ priority }: { priority: Priority }) {
  const { t } = useI18n();
  return (
    <span className={`prio prio-${priority}`} title={translateValue(t, 'priority', priority)}>
      <span className="prio-code">P{priority}</span>
      <span className="prio-name">{translateValue(t, 'priority', priority)}</span>
    </span>
  );
});

export const StateChip = memo(function StateChip({ state }: { state: AlarmState }) {
  const { t } = useI18n();
  return <span className={`chip state-${state}`}>{translateValue(t, 'alarmState', state)}</span>;
});

/** Online / offline / not known, as a dot and a word. */
export function OnlineState({ online }: { online: boolean | null }) {
  const { t } = useI18n();
  const kind = online === null ? 'unknown' : online ? 'online' : 'offline';
  return (
    <span className={`online online-${kind}`}>
      <span className="dot" aria-hidden="true" />
      {t(`device.${kind}`)}
    </span>
  );
}
