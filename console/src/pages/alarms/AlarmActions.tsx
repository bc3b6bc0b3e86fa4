import { useEffect, useState, type FormEvent, type RefObject } from 'react';
import { api } from '../../shell/api-client';
import { ACK_TYPES, type AckType, type Alarm } from '../../shell/api-types';
import { translateValue, useI18n } from '../../shell/i18n';
import { ErrorNote } from '../../ui/errors';

const NOTE_MAX = 1000;

/** Acknowledge: the guard says what it was (genuine, false alarm, test) and what was done. */
export function AckForm(props: { alarm: Alarm; noteRef: RefObject<HTMLTextAreaElement | null>; onDone: (alarm: Alarm) => void }) {
  const { t } = useI18n();
  const [note, setNote] = useState('');
  const [ackType, setAckType] = useState<AckType>('genuine');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [missingNote, setMissingNote] = useState(false);

  useEffect(() => {
    setNote('');
    setAckType('genuine');
    setError(null);
    setMissingNote(false);
  }, [props.alarm.id]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = note.trim();
    if (!trimmed) {
      setMissingNote(true);
      props.noteRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const alarm = await api.post<Alarm>(`/alarms/${encodeURIComponent(props.alarm.id)}/acknowledge`, { note: trimmed, ackType });
      props.onDone(alarm);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="ack-form" onSubmit={submit} noValidate>
      <label className="field">
        <span>{t('ack.note')}</span>
        <textarea
          ref={props.noteRef}
          data-testid="ack-note"
          value={note}
          maxLength={NOTE_MAX}
          rows={3}
          required
          aria-invalid={missingNote}
          placeholder={t('ack.notePlaceholder')}
          onChange={(e) => {
            setNote(e.target.value);
            if (e.target.value.trim()) setMissingNote(false);
          }}
          onKeyDown={(e) => {
            // ctrl/cmd+Enter sends, as in chat tools
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void submit(e);
          }}
        />
        {missingNote ? <span className="field-error">{t('ack.noteRequired')}</span> : null}
      </label>
      <div className="ack-row">
        <label className="field inline">
          <span>{t('ack.type')}</span>
          <select data-testid="ack-type" value={ackType} onChange={(e) => setAckType(e.target.value as AckType)}>
            {ACK_TYPES.map((type) => (
              <option key={type} value={type}>
                {translateValue(t, 'ackType', type)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="button primary" data-testid="ack-submit" disabled={busy}>
          {busy ? t('common.working') : t('ack.submit')}
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

/** Clear (the condition is over) and close (done with it), each with an optional note. */
export function TransitionForm(props: { alarm: Alarm; onDone: (alarm: Alarm) => void }) {
  const { t } = useI18n();
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState<'clear' | 'close' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { state } = props.alarm;
  // the server's lifecycle: new → acknowledged → cleared → closed; close also straight from acknowledged
  const canClear = state === 'acknowledged';
  const canClose = state === 'acknowledged' || state === 'cleared';

  useEffect(() => {
    setNote('');
    setError(null);
  }, [props.alarm.id]);

  if (!canClear && !canClose) return null;

  const run = async (action: 'clear' | 'close') => {
    setBusy(action);
    setError(null);
    try {
      const trimmed = note.trim();
      const alarm = await api.post<Alarm>(`/alarms/${encodeURIComponent(props.alarm.id)}/${action}`, trimmed ? { note: trimmed } : {});
      setNote('');
      props.onDone(alarm);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="transition-form">
      <label className="field">
        <span>{t('alarm.transitionNote')}</span>
        <input type="text" value={note} maxLength={NOTE_MAX} onChange={(e) => setNote(e.target.value)} data-testid="transition-note" />
      </label>
      <div className="button-row">
        {canClear ? (
          <button type="button" className="button" data-testid="alarm-clear" disabled={busy !== null} onClick={() => void run('clear')} title={t('alarm.clearHint')}>
            {busy === 'clear' ? t('common.working') : t('alarm.clear')}
          </button>
        ) : null}
        {canClose ? (
          <button type="button" className="button" data-testid="alarm-close" disabled={busy !== null} onClick={() => void run('close')} title={t('alarm.closeHint')}>
            {busy === 'close' ? t('common.working') : t('alarm.close')}
          </button>
        ) : null}
      </div>
      <ErrorNote error={error} />
    </div>
  );
}
