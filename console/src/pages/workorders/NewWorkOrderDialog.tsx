import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../shell/api-client';
import { translateValue, useI18n } from '../../shell/i18n';
import { ALL_SITES, useSession } from '../../shell/session';
import { Dialog } from '../../ui/Dialog';
import { ErrorNote } from '../../ui/errors';
import { CATEGORIES, type Category, type Team, type WorkOrder } from './work-order-types';

interface SiteAssets {
  buildings: { id: string; name: string | null }[];
  assets: { id: string; name: string | null; building: string | null }[];
}

/** Raising an order by hand: a resident's call or a patrol's report (报事报修). */
export function NewWorkOrderDialog(props: { teams: Team[]; onClose: () => void; onCreated: (order: WorkOrder) => void }) {
  const { t } = useI18n();
  const session = useSession();
  const [site, setSite] = useState(session.selectedSite !== ALL_SITES ? session.selectedSite : session.sites[0]?.id ?? '');
  const [form, setForm] = useState({ title: '', category: 'other' as Category, priority: 3, building: '', asset: '', floor: '', unit: '', requesterName: '', requesterContact: '', description: '', team: '' });
  const [places, setPlaces] = useState<SiteAssets>({ buildings: [], assets: [] });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!site) return;
    api.get<SiteAssets>(`/sites/${encodeURIComponent(site)}/assets`).then(setPlaces, () => setPlaces({ buildings: [], assets: [] }));
  }, [site]);

  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: key === 'priority' ? Number(e.target.value) : e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const optional = (v: string) => (v.trim() ? v.trim() : undefined);
    try {
      const order = await api.post<WorkOrder>('/work-orders', {
        site,
        title: form.title.trim(),
        category: form.category,
        priority: form.priority,
        building: optional(form.building),
        asset: optional(form.asset),
        floor: optional(form.floor),
        unit: optional(form.unit),
        requesterName: optional(form.requesterName),
        requesterContact: optional(form.requesterContact),
        description: optional(form.description),
        team: optional(form.team),
      });
      props.onCreated(order);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const teams = props.teams.filter((team) => team.sites === null || team.sites.includes(site));
  const assets = places.assets.filter((a) => !form.building || a.building === form.building);

  return (
    <Dialog title={t('wo.new')} onClose={props.onClose} testId="wo-new-dialog" className="wo-new-dialog">
      <form className="form form-grid" onSubmit={(e) => void submit(e)}>
        {session.sites.length > 1 ? (
          <label className="field">
            <span>{t('wo.site')}</span>
            <select value={site} onChange={(e) => setSite(e.target.value)}>
              {session.sites.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name ?? s.id}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <label className="field wide">
          <span>{t('wo.titleField')}</span>
          <input value={form.title} onChange={set('title')} required maxLength={200} data-testid="wo-new-title" autoFocus />
        </label>
        <label className="field">
          <span>{t('wo.category')}</span>
          <select value={form.category} onChange={set('category')} data-testid="wo-new-category">
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {translateValue(t, 'woCategory', c)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('wo.priority')}</span>
          <select value={form.priority} onChange={set('priority')} data-testid="wo-new-priority">
            {[1, 2, 3, 4].map((p) => (
              <option key={p} value={p}>
                P{p} {translateValue(t, 'woPriority', p)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('wo.building')}</span>
          <select value={form.building} onChange={set('building')}>
            <option value="">—</option>
            {places.buildings.map((b) => (
              <option key={b.id} value={b.id}>
                {b.name ?? b.id}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('wo.asset')}</span>
          <select value={form.asset} onChange={set('asset')}>
            <option value="">—</option>
            {assets.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name ?? a.id}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('wo.floor')}</span>
          <input value={form.floor} onChange={set('floor')} maxLength={32} />
        </label>
        <label className="field">
          <span>{t('wo.unit')}</span>
          <input value={form.unit} onChange={set('unit')} maxLength={32} />
        </label>
        <label className="field">
          <span>{t('wo.requesterName')}</span>
          <input value={form.requesterName} onChange={set('requesterName')} maxLength={100} data-testid="wo-new-requester" />
        </label>
        <label className="field">
          <span>{t('wo.requesterContact')}</span>
          <input value={form.requesterContact} onChange={set('requesterContact')} maxLength={100} inputMode="tel" />
        </label>
        {teams.length > 0 ? (
          <label className="field">
            <span>{t('wo.team')}</span>
            <select value={form.team} onChange={set('team')}>
              <option value="">—</option>
              {teams.map((team) => (
                <option key={team.id} value={team.id}>
                  {team.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <label className="field wide">
          <span>{t('wo.description')}</span>
          <textarea value={form.description} onChange={set('description')} maxLength={5000} rows={3} />
        </label>
        <ErrorNote error={error} />
        <div className="dialog-actions wide">
          <button type="button" className="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="button primary" disabled={busy || !form.title.trim()} data-testid="wo-new-submit">
            {t('wo.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
