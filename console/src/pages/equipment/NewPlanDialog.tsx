import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../shell/api-client';
import { translateValue, useI18n } from '../../shell/i18n';
import { useSession } from '../../shell/session';
import { Dialog } from '../../ui/Dialog';
import { ErrorNote } from '../../ui/errors';
import { CATEGORIES, type Category, type Team } from '../workorders/work-order-types';
import type { LedgerAsset, MaintenancePlan, PlanTemplate, PlanUnit } from './equipment-types';
import { calendarInWords, todayIn, weekdayName } from './plan-dates';

const UNITS: readonly PlanUnit[] = ['day', 'week', 'month'];
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const;

interface PlanForm {
  template: string;
  name: string;
  category: Category;
  priority: number;
  team: string;
  startsOn: string;
  leadDays: number;
  byCalendar: boolean;
  every: number;
  unit: PlanUnit;
  weekdays: number[];
  byUsage: boolean;
  usageDevice: string;
  usageMetric: string;
  usageEvery: string;
}

/** A template's name in the language on screen, else in any language it has. */
export function templateName(template: PlanTemplate, lang: string): string {
  return template.name[lang] ?? template.name.en ?? Object.values(template.name)[0] ?? template.id;
}

/** What a template fills in: the form as it would be with that template chosen. */
function withTemplate(form: PlanForm, template: PlanTemplate | undefined, lang: string): PlanForm {
  if (!template) return { ...form, template: '' };
  return {
    ...form,
    template: template.id,
    name: templateName(template, lang),
    category: template.category,
    priority: template.priority,
    leadDays: template.leadDays,
    byCalendar: true,
    every: template.calendar.every,
    unit: template.calendar.unit,
    weekdays: [],
  };
}

/**
 * A preventive maintenance plan (维保计划) for one asset: from a ready template (the lift's 15 days,
 * fire equipment monthly) or defined here, on a calendar and/or on the usage a meter counts, whichever
 * comes first.
 */
export function NewPlanDialog(props: { asset: LedgerAsset; onClose: () => void; onCreated: (plan: MaintenancePlan) => void }) {
  const { t, lang } = useI18n();
  const session = useSession();
  const { asset } = props;
  const [templates, setTemplates] = useState<PlanTemplate[]>([]);
  const [teams, setTeams] = useState<Team[]>([]);
  const [metrics, setMetrics] = useState<{ metric: string; unit: string }[]>([]);
  const [form, setForm] = useState<PlanForm>({
    template: '',
    name: '',
    category: 'other',
    priority: 3,
    team: '',
    startsOn: todayIn(session.timeZoneOf(asset.site)),
    leadDays: 0,
    byCalendar: true,
    every: 1,
    unit: 'month',
    weekdays: [],
    byUsage: false,
    usageDevice: asset.devices[0] ?? '',
    usageMetric: '',
    usageEvery: '',
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.get<{ templates: PlanTemplate[] }>('/maintenance-plan-templates').then(
      (r) => {
        setTemplates(r.templates);
        // The template meant for this kind of asset, chosen already: a lift gets its 15-day plan.
        const suited = r.templates.find((x) => x.assetKinds.includes(asset.kind));
        if (suited) setForm((f) => (f.template === '' && f.name === '' ? withTemplate(f, suited, lang) : f));
      },
      (err: unknown) => setError(err),
    );
  }, [asset.kind, lang]);

  useEffect(() => {
    api.get<{ teams: Team[] }>('/work-order-teams', { site: asset.site }).then(
      (r) => {
        const usable = r.teams.filter((x) => x.sites === null || x.sites.includes(asset.site));
        setTeams(usable);
        setForm((f) => (f.team === '' && usable[0] ? { ...f, team: usable[0].id } : f));
      },
      () => setTeams([]),
    );
  }, [asset.site]);

  // The counters the meter reports, offered as the metric (the field still takes any name).
  useEffect(() => {
    if (!form.byUsage || !form.usageDevice) return;
    api.get<{ readings: { metric: string; unit: string }[] }>(`/sites/${encodeURIComponent(asset.site)}/devices/${encodeURIComponent(form.usageDevice)}/latest`).then(
      (r) => setMetrics(r.readings.map(({ metric, unit }) => ({ metric, unit }))),
      () => setMetrics([]),
    );
  }, [asset.site, form.byUsage, form.usageDevice]);

  const chosen = templates.find((x) => x.id === form.template);
  const usageEvery = Number(form.usageEvery);
  const usageReady = !form.byUsage || (form.usageDevice !== '' && form.usageMetric.trim() !== '' && usageEvery > 0);
  const ready = (form.byCalendar || form.byUsage) && usageReady && form.team !== '' && form.name.trim() !== '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const plan = await api.post<MaintenancePlan>('/maintenance-plans', {
        site: asset.site,
        asset: asset.id,
        ...(form.template ? { template: form.template } : {}),
        name: form.name.trim(),
        category: form.category,
        priority: form.priority,
        team: form.team,
        calendar: form.byCalendar ? { every: form.every, unit: form.unit, ...(form.unit === 'week' && form.weekdays.length > 0 ? { weekdays: form.weekdays } : {}) } : null,
        startsOn: form.startsOn,
        leadDays: form.leadDays,
        usage: form.byUsage ? { device: form.usageDevice, metric: form.usageMetric.trim(), every: usageEvery } : null,
      });
      props.onCreated(plan);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const toggleWeekday = (day: number) =>
    setForm({ ...form, weekdays: form.weekdays.includes(day) ? form.weekdays.filter((d) => d !== day) : [...form.weekdays, day].sort((a, b) => a - b) });

  return (
    <Dialog title={t('eq.newPlanTitle', { asset: asset.name ?? asset.id })} onClose={props.onClose} testId="eq-new-plan-dialog" className="wide eq-plan-dialog">
      <form className="form form-grid" onSubmit={(e) => void submit(e)}>
        <label className="field wide">
          <span>{t('eq.template')}</span>
          <select value={form.template} data-testid="eq-plan-template" onChange={(e) => setForm(withTemplate(form, templates.find((x) => x.id === e.target.value), lang))}>
            <option value="">{t('eq.noTemplate')}</option>
            {templates.map((x) => (
              <option key={x.id} value={x.id}>
                {templateName(x, lang)} · {calendarInWords(t, x.calendar)}
              </option>
            ))}
          </select>
          {chosen ? <span className="small muted">{chosen.basis[lang] ?? chosen.basis.en}</span> : null}
        </label>
        <label className="field wide">
          <span>{t('eq.planName')}</span>
          <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required maxLength={200} data-testid="eq-plan-name" />
        </label>
        <label className="field">
          <span>{t('wo.category')}</span>
          <select value={form.category} onChange={(e) => setForm({ ...form, category: e.target.value as Category })}>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {translateValue(t, 'woCategory', c)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('wo.priority')}</span>
          <select value={form.priority} onChange={(e) => setForm({ ...form, priority: Number(e.target.value) })}>
            {[1, 2, 3, 4].map((p) => (
              <option key={p} value={p}>
                P{p} {translateValue(t, 'woPriority', p)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('wo.team')}</span>
          <select value={form.team} onChange={(e) => setForm({ ...form, team: e.target.value })} required data-testid="eq-plan-team">
            {teams.length === 0 ? <option value="">{t('eq.noTeams')}</option> : null}
            {teams.map((team) => (
              <option key={team.id} value={team.id}>
                {team.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('eq.startsOn')}</span>
          <input type="date" value={form.startsOn} onChange={(e) => setForm({ ...form, startsOn: e.target.value })} required data-testid="eq-plan-starts" />
        </label>
        <label className="field">
          <span>{t('eq.leadDaysField')}</span>
          <input type="number" min={0} max={90} value={form.leadDays} onChange={(e) => setForm({ ...form, leadDays: Number(e.target.value) })} required data-testid="eq-plan-lead" />
          <span className="small muted">{t('eq.leadDaysHint')}</span>
        </label>

        <fieldset className="field wide eq-rule">
          <legend>
            <label className="check">
              <input type="checkbox" checked={form.byCalendar} onChange={(e) => setForm({ ...form, byCalendar: e.target.checked })} data-testid="eq-plan-by-calendar" />
              {t('eq.byCalendar')}
            </label>
          </legend>
          {form.byCalendar ? (
            <div className="eq-rule-fields">
              <label className="field">
                <span>{t('eq.every')}</span>
                <input type="number" min={1} max={366} value={form.every} onChange={(e) => setForm({ ...form, every: Number(e.target.value) })} required data-testid="eq-plan-every" />
              </label>
              <label className="field">
                <span>{t('eq.unit')}</span>
                <select value={form.unit} onChange={(e) => setForm({ ...form, unit: e.target.value as PlanUnit, weekdays: [] })} data-testid="eq-plan-unit">
                  {UNITS.map((u) => (
                    <option key={u} value={u}>
                      {translateValue(t, 'eqUnit', u)}
                    </option>
                  ))}
                </select>
              </label>
              {form.unit === 'week' ? (
                <div className="field eq-weekdays">
                  <span>{t('eq.weekdays')}</span>
                  <div className="chips" role="group" aria-label={t('eq.weekdays')}>
                    {WEEKDAYS.map((day) => (
                      <button key={day} type="button" aria-pressed={form.weekdays.includes(day)} className={`chip-button ${form.weekdays.includes(day) ? 'active' : ''}`} onClick={() => toggleWeekday(day)}>
                        {weekdayName(t, day)}
                      </button>
                    ))}
                  </div>
                </div>
              ) : null}
              <span className="small muted eq-rule-words">{calendarInWords(t, { every: Math.max(1, form.every || 1), unit: form.unit, weekdays: form.weekdays })}</span>
            </div>
          ) : null}
        </fieldset>

        <fieldset className="field wide eq-rule">
          <legend>
            <label className="check">
              <input type="checkbox" checked={form.byUsage} onChange={(e) => setForm({ ...form, byUsage: e.target.checked })} disabled={asset.devices.length === 0} data-testid="eq-plan-by-usage" />
              {t('eq.byUsage')}
            </label>
          </legend>
          {asset.devices.length === 0 ? <span className="small muted">{t('eq.noUsageDevices')}</span> : null}
          {form.byUsage ? (
            <div className="eq-rule-fields">
              <label className="field">
                <span>{t('eq.usageDevice')}</span>
                <select value={form.usageDevice} onChange={(e) => setForm({ ...form, usageDevice: e.target.value })} data-testid="eq-plan-usage-device">
                  {asset.devices.map((d) => (
                    <option key={d} value={d}>
                      {session.deviceName(asset.site, d)}
                    </option>
                  ))}
                </select>
              </label>
              <label className="field">
                <span>{t('eq.usageMetric')}</span>
                <input value={form.usageMetric} onChange={(e) => setForm({ ...form, usageMetric: e.target.value })} list="eq-metrics" pattern="[a-z][a-z0-9_]{0,63}" placeholder="import_energy" className="mono" required data-testid="eq-plan-usage-metric" />
                <datalist id="eq-metrics">
                  {metrics.map((m) => (
                    <option key={m.metric} value={m.metric} label={m.unit} />
                  ))}
                </datalist>
              </label>
              <label className="field">
                <span>{t('eq.usageEvery')}</span>
                <input type="number" min={0} step="any" value={form.usageEvery} onChange={(e) => setForm({ ...form, usageEvery: e.target.value })} required data-testid="eq-plan-usage-every" />
              </label>
            </div>
          ) : null}
        </fieldset>
        {!form.byCalendar && !form.byUsage ? <p className="small field-error wide">{t('eq.needRule')}</p> : null}

        <ErrorNote error={error} className="wide" />
        <div className="dialog-actions wide">
          <button type="button" className="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="button primary" disabled={busy || !ready} data-testid="eq-plan-submit">
            {t('eq.createPlan')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
