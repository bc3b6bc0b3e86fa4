import { memo, useLayoutEffect, useRef } from 'react';
import { translateValue, type Translate } from '../../shell/i18n';
import { formatShort } from '../../shell/time';
import { PriorityBadge, StateChip } from '../../ui/badges';
import { shownPoint } from '../../ui/door-state';
import type { QueueEntry } from './alarm-queue';

declare global {
  interface Window {
    /** set by latency measurements: alarm id:occurrences:state → when its row was drawn (epoch ms) */
    __ghDrawn?: Record<string, number>;
  }
}

export interface AlarmRowProps {
  entry: QueueEntry;
  selected: boolean;
  siteName: string;
  deviceName: string;
  timeZone: string;
  showSite: boolean;
  /** the site's date: a new day redraws the row, whose time then needs its date */
  today: string;
  t: Translate;
  onPick: (id: string) => void;
}

/**
 * One alarm in the queue. Memoised on its entry: a live message redraws the row of the alarm it is
 * about (and the rows whose selection changed), not the whole queue.
 */
export const AlarmRow = memo(function AlarmRow(props: AlarmRowProps) {
  const { entry, t } = props;
  const { alarm } = entry;
  const ref = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    const drawn = window.__ghDrawn;
    if (!drawn) return;
    const key = `${alarm.id}:${alarm.occurrences}:${alarm.state}`;
    if (drawn[key] === undefined) drawn[key] = performance.timeOrigin + performance.now();
  }, [alarm.id, alarm.occurrences, alarm.state]);

  // a live arrival or change flashes the row (the Web Animations API restarts it without a reflow)
  useLayoutEffect(() => {
    if (!entry.flash || Date.now() - entry.flash > 5000) return;
    ref.current?.animate(
      [{ backgroundColor: 'var(--flash)' }, { backgroundColor: 'var(--flash)', offset: 0.25 }, { backgroundColor: 'transparent' }],
      { duration: 1600, easing: 'ease-out' },
    );
  }, [entry.flash]);

  const point = shownPoint(alarm.point);
  const place = point ? `${props.deviceName} · ${t('alarm.point')} ${point}` : props.deviceName;
  return (
    <div
      ref={ref}
      role="option"
      aria-selected={props.selected}
      tabIndex={-1}
      className={`alarm-row p${alarm.priority} st-${alarm.state} ${props.selected ? 'selected' : ''}`}
      data-testid="alarm-row"
      data-alarm-id={alarm.id}
      data-priority={alarm.priority}
      data-state={alarm.state}
      data-occurrences={alarm.occurrences}
      data-updated-at={alarm.updatedAt}
      onClick={() => props.onPick(alarm.id)}
    >
      <span className="cell-prio">
        <PriorityBadge priority={alarm.priority} />
      </span>
      <span className="cell-what">
        <span className="alarm-type">{translateValue(t, 'alarmType', alarm.type)}</span>
        <span className="alarm-place">
          {place}
          {props.showSite ? <span className="alarm-site"> · {props.siteName}</span> : null}
        </span>
      </span>
      <span className="cell-state">
        <StateChip state={alarm.state} />
      </span>
      <span className="cell-count" title={t('alarm.occurrences')}>
        {alarm.occurrences > 1 ? `×${alarm.occurrences}` : ''}
      </span>
      <time className="cell-time" dateTime={new Date(alarm.lastAt).toISOString()}>
        {formatShort(alarm.lastAt, props.timeZone)}
      </time>
    </div>
  );
});
