import { useEffect, useMemo } from 'react';
import { useI18n } from '../../shell/i18n';
import { ALL_SITES, useSession } from '../../shell/session';
import { alarmQueue, useAlarmQueue } from './alarm-queue';
import { alarmSound, useAlarmSoundMuted } from './alarm-sound';
import { MuteIcon, SoundIcon } from '../../ui/icons';

/**
 * Mounted with the navigation for the whole time a user is logged in: keeps the alarm queue live,
 * shows how many alarms wait for acknowledgement, and puts that count in the tab title.
 */
export function AlarmsNavBadge() {
  const session = useSession();
  const { t, lang } = useI18n();
  const { entries } = useAlarmQueue();

  useEffect(() => {
    alarmQueue.start();
    return () => alarmQueue.stop();
  }, []);
  useEffect(() => alarmQueue.setFocusSite(session.selectedSite), [session.selectedSite]);

  const { count, top } = useMemo(() => {
    let n = 0;
    let best = 5;
    for (const { alarm } of entries) {
      if (alarm.state !== 'new') continue;
      if (session.selectedSite !== ALL_SITES && alarm.site !== session.selectedSite) continue;
      n++;
      best = Math.min(best, alarm.priority);
    }
    return { count: n, top: best };
  }, [entries, session.selectedSite]);

  useEffect(() => {
    document.title = count > 0 ? `(${count}) ${t('app.title')}` : t('app.title');
  }, [count, t, lang]);

  if (count === 0) return null;
  return (
    <span className={`nav-badge badge-p${top}`} data-testid="alarm-count" title={t('alarm.unacknowledgedCount', { count })}>
      {count > 999 ? '999+' : count}
    </span>
  );
}

export function AlarmSoundToggle() {
  const { t } = useI18n();
  const muted = useAlarmSoundMuted();
  return (
    <button
      type="button"
      className={`icon-button sound-toggle ${muted ? 'muted' : ''}`}
      data-testid="sound-toggle"
      aria-pressed={muted}
      title={muted ? t('alarm.soundOff') : t('alarm.soundOn')}
      aria-label={muted ? t('alarm.soundOff') : t('alarm.soundOn')}
      onClick={() => alarmSound.setMuted(!muted)}
    >
      {muted ? <MuteIcon /> : <SoundIcon />}
    </button>
  );
}
