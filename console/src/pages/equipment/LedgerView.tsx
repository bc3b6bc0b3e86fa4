import { useEffect, useRef, useState } from 'react';
import { api } from '../../shell/api-client';
import { useI18n } from '../../shell/i18n';
import { Link, pathOf } from '../../shell/router';
import { ALL_SITES, useSession } from '../../shell/session';
import { ErrorNote } from '../../ui/errors';
import { useAssetNames } from '../workorders/use-asset-names';
import { KindChip, kindName, WarrantyBadge } from './equipment-parts';
import type { LedgerAsset } from './equipment-types';
import { todayIn } from './plan-dates';

/** Typing pauses this long before the ledger is asked again. */
const SEARCH_DELAY_MS = 300;

/** The equipment ledger (设备台账): the assets of the picked site(s) as cards, by kind or a search. */
export function LedgerView() {
  const { t } = useI18n();
  const session = useSession();
  const site = session.selectedSite;
  const [kind, setKind] = useState('');
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [assets, setAssets] = useState<LedgerAsset[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  // The kinds seen so far: the filter keeps offering them while a filter narrows the list.
  const [kindsSeen, setKindsSeen] = useState<ReadonlySet<string>>(new Set());
  const generation = useRef(0);

  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim().slice(0, 64)), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search]);

  useEffect(() => {
    const mine = ++generation.current;
    api.get<{ assets: LedgerAsset[] }>('/assets', { site: site === ALL_SITES ? undefined : site, kind: kind || undefined, q: query || undefined }).then(
      (r) => {
        if (mine !== generation.current) return;
        setAssets(r.assets);
        setError(null);
        setKindsSeen((seen) => (r.assets.every((a) => seen.has(a.kind)) ? seen : new Set([...seen, ...r.assets.map((a) => a.kind)])));
      },
      (err: unknown) => {
        if (mine === generation.current) setError(err);
      },
    );
  }, [site, kind, query]);

  const place = useAssetNames((assets ?? []).map((a) => a.site));
  const kinds = [...new Set([...kindsSeen, ...(kind ? [kind] : [])])].sort((a, b) => kindName(t, a).localeCompare(kindName(t, b)));
  const filtered = kind !== '' || query !== '';

  return (
    <>
      <div className="filters eq-filters">
        <label className="field">
          <span>{t('eq.kind')}</span>
          <select value={kind} data-testid="eq-kind-filter" onChange={(e) => setKind(e.target.value)}>
            <option value="">{t('eq.allKinds')}</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {kindName(t, k)}
              </option>
            ))}
          </select>
        </label>
        <label className="field eq-search">
          <span>{t('common.search')}</span>
          <input type="search" value={search} placeholder={t('eq.searchHint')} data-testid="eq-search" maxLength={64} onChange={(e) => setSearch(e.target.value)} />
        </label>
      </div>
      <ErrorNote error={error} />
      {assets === null && !error ? <p className="muted">{t('common.loading')}</p> : null}
      {assets !== null && assets.length === 0 ? <p className="muted eq-empty">{filtered ? t('eq.noneMatch') : t('eq.none')}</p> : null}
      <ul className="eq-assets" data-testid="eq-ledger">
        {(assets ?? []).map((asset) => (
          <AssetCard key={`${asset.site}/${asset.id}`} asset={asset} showSite={site === ALL_SITES} place={place} />
        ))}
      </ul>
    </>
  );
}

function AssetCard({ asset, showSite, place }: { asset: LedgerAsset; showSite: boolean; place: (site: string, id: string | null) => string | null }) {
  const { t } = useI18n();
  const session = useSession();
  const makeModel = [asset.make, asset.model].filter(Boolean).join(' ');
  const where = [showSite ? session.siteName(asset.site) : null, place(asset.site, asset.building), asset.location].filter(Boolean).join(' · ');
  return (
    <li className="eq-asset-card" data-testid="eq-asset-card" data-asset={asset.id} data-site={asset.site}>
      <Link href={pathOf('equipment', asset.site, asset.id)} className="eq-asset-link">
        <div className="eq-asset-top">
          <KindChip kind={asset.kind} />
          <span className="mono muted small eq-asset-id">{asset.id}</span>
        </div>
        <div className="eq-asset-name">{asset.name ?? asset.id}</div>
        {where ? <div className="small muted">{where}</div> : null}
        {makeModel ? <div className="small">{makeModel}</div> : null}
        <div className="eq-asset-status">
          <WarrantyBadge until={asset.warrantyUntil} today={todayIn(session.timeZoneOf(asset.site))} />
          {asset.activeOrders > 0 ? <span className="chip warn">{t('eq.activeOrders', { n: asset.activeOrders })}</span> : <span className="small muted">{t('eq.noActiveOrders')}</span>}
          <span className="small">{asset.nextPlanDue ? t('eq.nextPlanDue', { date: asset.nextPlanDue }) : <span className="muted">{t('eq.noPlan')}</span>}</span>
        </div>
      </Link>
    </li>
  );
}
