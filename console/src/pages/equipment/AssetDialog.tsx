import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../shell/api-client';
import { useI18n } from '../../shell/i18n';
import { ALL_SITES, useSession } from '../../shell/session';
import { Dialog } from '../../ui/Dialog';
import { ErrorNote } from '../../ui/errors';
import { MultiSelect } from '../../ui/MultiSelect';
import { kindName } from './equipment-parts';
import { ASSET_ID_PATTERN, COMMON_KINDS, KIND_PATTERN, type LedgerAsset } from './equipment-types';

/** The ledger fields every asset has, whoever declared it; '' is "not known". */
const LEDGER_FIELDS = ['make', 'model', 'serialNo', 'installedOn', 'warrantyUntil', 'location', 'notes'] as const;
type LedgerField = (typeof LEDGER_FIELDS)[number];

/** The kind select's choice of a kind not among the common ones. */
const OTHER_KIND = '*other';

type Form = Record<LedgerField | 'id' | 'name' | 'kind' | 'building', string> & { devices: string[] };

function formOf(asset: LedgerAsset | undefined): Form {
  return {
    id: asset?.id ?? '',
    name: asset?.name ?? '',
    kind: asset?.kind ?? '',
    building: asset?.building ?? '',
    devices: asset?.devices ?? [],
    make: asset?.make ?? '',
    model: asset?.model ?? '',
    serialNo: asset?.serialNo ?? '',
    installedOn: asset?.installedOn ?? '',
    warrantyUntil: asset?.warrantyUntil ?? '',
    location: asset?.location ?? '',
    notes: asset?.notes ?? '',
  };
}

/**
 * Adding an asset to the ledger, or changing one's ledger entry. An asset the site configuration
 * declares keeps the configuration's name, kind, building and devices: only its ledger fields change.
 */
export function AssetDialog(props: { asset?: LedgerAsset; onClose: () => void; onSaved: (asset: LedgerAsset) => void }) {
  const { t } = useI18n();
  const session = useSession();
  const editing = props.asset;
  const [site, setSite] = useState(editing?.site ?? (session.selectedSite !== ALL_SITES ? session.selectedSite : (session.sites[0]?.id ?? '')));
  const [form, setForm] = useState<Form>(() => formOf(editing));
  const [buildings, setBuildings] = useState<{ id: string; name: string | null }[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const registryEditable = !editing?.declared;

  useEffect(() => {
    if (!site) return;
    api.get<{ buildings: { id: string; name: string | null }[] }>(`/sites/${encodeURIComponent(site)}/assets`).then(
      (r) => setBuildings(r.buildings),
      () => setBuildings([]),
    );
  }, [site]);

  const set = (key: Exclude<keyof Form, 'devices'>) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = editing ? await api.patch<LedgerAsset>(assetPath(editing), changesOf(editing, form)) : await api.post<LedgerAsset>(`/sites/${encodeURIComponent(site)}/assets`, newAssetOf(form));
      props.onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const siteDevices = session.devices.filter((d) => d.site === site);
  return (
    <Dialog title={editing ? t('eq.editTitle', { name: editing.name ?? editing.id }) : t('eq.addTitle')} onClose={props.onClose} testId="eq-asset-dialog" className="wide eq-asset-dialog">
      <form className="form form-grid" onSubmit={(e) => void submit(e)}>
        {editing?.declared ? (
          <p className="notice wide" data-testid="eq-declared-note">
            {t('eq.declaredNote')}
          </p>
        ) : null}
        {!editing && session.sites.length > 1 ? (
          <label className="field">
            <span>{t('eq.site')}</span>
            <select value={site} onChange={(e) => setSite(e.target.value)}>
              {session.sites.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name ?? s.id}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {registryEditable ? (
          <>
            <label className="field">
              <span>{t('eq.id')}</span>
              <input value={form.id} onChange={set('id')} required disabled={!!editing} pattern={ASSET_ID_PATTERN} maxLength={64} title={t('eq.idHint')} data-testid="eq-asset-id" className="mono" autoFocus={!editing} />
            </label>
            <label className="field">
              <span>{t('eq.name')}</span>
              <input value={form.name} onChange={set('name')} required maxLength={128} data-testid="eq-asset-name" />
            </label>
            <KindField kind={form.kind} onChange={(kind) => setForm({ ...form, kind })} />
            <label className="field">
              <span>{t('eq.building')}</span>
              <select value={form.building} onChange={set('building')}>
                {/* the ledger cannot take a building away once given: '—' is offered only while there is none */}
                {editing?.building ? null : <option value="">—</option>}
                {buildings.map((b) => (
                  <option key={b.id} value={b.id}>
                    {b.name ?? b.id}
                  </option>
                ))}
              </select>
            </label>
            <div className="field">
              <span>{t('eq.devices')}</span>
              <MultiSelect
                label={t('eq.devices')}
                options={siteDevices.map((d) => ({ value: d.id, label: d.name ?? d.id }))}
                selected={form.devices}
                onChange={(devices) => setForm({ ...form, devices })}
                allLabel={t('eq.noDevicesChosen')}
                countLabel={(n) => t('eq.nDevices', { n })}
                testId="eq-asset-devices"
              />
            </div>
          </>
        ) : null}
        <label className="field">
          <span>{t('eq.make')}</span>
          <input value={form.make} onChange={set('make')} maxLength={128} data-testid="eq-asset-make" />
        </label>
        <label className="field">
          <span>{t('eq.model')}</span>
          <input value={form.model} onChange={set('model')} maxLength={128} data-testid="eq-asset-model" />
        </label>
        <label className="field">
          <span>{t('eq.serialNo')}</span>
          <input value={form.serialNo} onChange={set('serialNo')} maxLength={128} className="mono" />
        </label>
        <label className="field">
          <span>{t('eq.location')}</span>
          <input value={form.location} onChange={set('location')} maxLength={200} />
        </label>
        <label className="field">
          <span>{t('eq.installedOn')}</span>
          <input type="date" value={form.installedOn} onChange={set('installedOn')} />
        </label>
        <label className="field">
          <span>{t('eq.warrantyUntil')}</span>
          <input type="date" value={form.warrantyUntil} onChange={set('warrantyUntil')} data-testid="eq-asset-warranty" />
        </label>
        <label className="field wide">
          <span>{t('eq.notes')}</span>
          <textarea value={form.notes} onChange={set('notes')} maxLength={5000} rows={3} />
        </label>
        <ErrorNote error={error} className="wide" />
        <div className="dialog-actions wide">
          <button type="button" className="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="button primary" disabled={busy || !site} data-testid="eq-asset-submit">
            {editing ? t('common.save') : t('eq.addAsset')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The common kinds by their names, and any other as the ledger writes it (snake_case). */
function KindField({ kind, onChange }: { kind: string; onChange: (kind: string) => void }) {
  const { t } = useI18n();
  const common = (COMMON_KINDS as readonly string[]).includes(kind);
  const [other, setOther] = useState(kind !== '' && !common);
  return (
    <div className="field">
      <span>{t('eq.kind')}</span>
      <select
        value={other ? OTHER_KIND : kind}
        required
        aria-label={t('eq.kind')}
        data-testid="eq-asset-kind"
        onChange={(e) => {
          const chosen = e.target.value;
          setOther(chosen === OTHER_KIND);
          onChange(chosen === OTHER_KIND ? '' : chosen);
        }}
      >
        <option value="">—</option>
        {COMMON_KINDS.map((k) => (
          <option key={k} value={k}>
            {kindName(t, k)}
          </option>
        ))}
        <option value={OTHER_KIND}>{t('eq.otherKind')}</option>
      </select>
      {other ? (
        <input value={kind} onChange={(e) => onChange(e.target.value)} required pattern={KIND_PATTERN} maxLength={32} title={t('eq.kindHint')} aria-label={t('eq.kindHint')} placeholder={t('eq.kindHint')} className="mono" data-testid="eq-asset-kind-other" />
      ) : null}
    </div>
  );
}

export function assetPath(asset: { site: string; id: string }): string {
  return `/sites/${encodeURIComponent(asset.site)}/assets/${encodeURIComponent(asset.id)}`;
}

function newAssetOf(form: Form): Record<string, unknown> {
  const body: Record<string, unknown> = { id: form.id.trim(), name: form.name.trim(), kind: form.kind.trim() };
  if (form.building) body.building = form.building;
  if (form.devices.length > 0) body.devices = form.devices;
  for (const field of LEDGER_FIELDS) if (form[field].trim()) body[field] = form[field].trim();
  return body;
}

/** Only what changed: an emptied ledger field is cleared (null); the configuration's fields are left to it. */
function changesOf(asset: LedgerAsset, form: Form): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const field of LEDGER_FIELDS) {
    const value = form[field].trim();
    if (value !== (asset[field] ?? '')) changes[field] = value === '' ? null : value;
  }
  if (!asset.declared) {
    if (form.name.trim() !== (asset.name ?? '')) changes.name = form.name.trim();
    if (form.kind.trim() !== asset.kind) changes.kind = form.kind.trim();
    if (form.building && form.building !== asset.building) changes.building = form.building;
    if ([...form.devices].sort().join() !== [...asset.devices].sort().join()) changes.devices = form.devices;
  }
  return changes;
}
