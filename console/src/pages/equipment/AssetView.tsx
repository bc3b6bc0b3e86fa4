import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../shell/api-client';
import { translateValue, useI18n } from '../../shell/i18n';
import { Link, pathOf } from '../../shell/router';
import { useSession } from '../../shell/session';
import { formatDate } from '../../shell/time';
import { ErrorNote } from '../../ui/errors';
import { useAssetNames } from '../workorders/use-asset-names';
import type { WorkOrder } from '../workorders/work-order-types';
import { AssetDialog, assetPath } from './AssetDialog';
import { DocumentSection } from './DocumentSection';
import { byNextDue, KindChip, PlanRow, WarrantyBadge } from './equipment-parts';
import type { AssetDetail } from './equipment-types';
import { NewPlanDialog } from './NewPlanDialog';
import { todayIn } from './plan-dates';

/** One asset: its ledger entry, devices, documents, plans and every work order that touched it. */
export function AssetView(props: { site: string; asset: string }) {
  const { t } = useI18n();
  const session = useSession();
  const [asset, setAsset] = useState<AssetDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [planning, setPlanning] = useState(false);
  const generation = useRef(0);
  const manage = session.can('workorders.manage');
  const place = useAssetNames([props.site]);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const fresh = await api.get<AssetDetail>(assetPath({ site: props.site, id: props.asset }));
      if (mine !== generation.current) return;
      setAsset(fresh);
      setError(null);
    } catch (err) {
      if (mine === generation.current) setError(err);
    }
  }, [props.site, props.asset]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const back = (
    <Link href={pathOf('equipment')} className="link-button eq-back">
      ← {t('eq.backToLedger')}
    </Link>
  );
  if (!asset) {
    return (
      <div className="eq-detail">
        {back}
        {error ? <ErrorNote error={error} /> : <p className="muted">{t('common.loading')}</p>}
      </div>
    );
  }

  const zone = session.timeZoneOf(asset.site);
  const today = todayIn(zone);
  return (
    <article className="eq-detail" data-testid="eq-asset-detail" data-asset={asset.id}>
      {back}
      <header className="eq-detail-head">
        <div className="eq-asset-top">
          <KindChip kind={asset.kind} />
          <span className="mono muted small">{asset.id}</span>
        </div>
        <h1 className="eq-detail-title">{asset.name ?? asset.id}</h1>
        {manage ? (
          <div className="button-row">
            <button type="button" className="button" data-testid="eq-edit-asset" onClick={() => setEditing(true)}>
              {t('eq.editLedger')}
            </button>
          </div>
        ) : null}
        {asset.declared && manage ? <p className="small muted">{t('eq.declaredShort')}</p> : null}
      </header>
      <ErrorNote error={error} />

      <dl className="facts eq-facts">
        <dt>{t('eq.site')}</dt>
        <dd>{session.siteName(asset.site)}</dd>
        <dt>{t('eq.building')}</dt>
        <dd>{place(asset.site, asset.building) ?? '—'}</dd>
        <dt>{t('eq.location')}</dt>
        <dd>{asset.location ?? '—'}</dd>
        <dt>{t('eq.make')}</dt>
        <dd>{asset.make ?? '—'}</dd>
        <dt>{t('eq.model')}</dt>
        <dd>{asset.model ?? '—'}</dd>
        <dt>{t('eq.serialNo')}</dt>
        <dd className={asset.serialNo ? 'mono' : ''}>{asset.serialNo ?? '—'}</dd>
        <dt>{t('eq.installedOn')}</dt>
        <dd>{asset.installedOn ?? '—'}</dd>
        <dt>{t('eq.warrantyUntil')}</dt>
        <dd>
          {asset.warrantyUntil ?? '—'} <WarrantyBadge until={asset.warrantyUntil} today={today} />
        </dd>
        <dt>{t('eq.devices')}</dt>
        <dd data-testid="eq-devices">
          {asset.devices.length === 0 ? (
            <span className="muted">{t('eq.noDevices')}</span>
          ) : (
            <span className="chips">
              {asset.devices.map((d) => (
                <span key={d} className="chip" title={d}>
                  {session.deviceName(asset.site, d)}
                </span>
              ))}
            </span>
          )}
        </dd>
      </dl>
      {asset.notes ? <p className="note-text">{asset.notes}</p> : null}

      <DocumentSection asset={asset} documents={asset.documents} canAdd={manage} timeZone={zone} onAdded={() => void reload()} />

      <section className="detail-section" data-testid="eq-asset-plans">
        <div className="eq-section-head">
          <h2 className="section-title">{t('eq.maintenancePlans')}</h2>
          {manage ? (
            <button type="button" className="button small" data-testid="eq-new-plan" onClick={() => setPlanning(true)}>
              {t('eq.newPlan')}
            </button>
          ) : null}
        </div>
        {asset.plans.length === 0 ? <p className="muted small">{t('eq.noPlans')}</p> : null}
        <ul className="eq-plan-list">
          {[...asset.plans].sort(byNextDue).map((plan) => (
            <PlanRow key={plan.id} plan={plan} />
          ))}
        </ul>
      </section>

      <section className="detail-section" data-testid="eq-history">
        <h2 className="section-title">{t('eq.history')}</h2>
        {asset.history.length === 0 ? <p className="muted small">{t('eq.noHistory')}</p> : null}
        <ol className="eq-history">
          {asset.history.map((order) => (
            <HistoryRow key={order.id} order={order} timeZone={zone} />
          ))}
        </ol>
      </section>

      {editing ? (
        <AssetDialog
          asset={asset}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            void reload();
          }}
        />
      ) : null}
      {planning ? (
        <NewPlanDialog
          asset={asset}
          onClose={() => setPlanning(false)}
          onCreated={() => {
            setPlanning(false);
            void reload();
          }}
        />
      ) : null}
    </article>
  );
}

function HistoryRow({ order, timeZone }: { order: WorkOrder; timeZone: string }) {
  const { t } = useI18n();
  return (
    <li data-testid="eq-history-row" data-state={order.state}>
      <Link href={pathOf('work-orders', order.id)} className="eq-history-link">
        <span className="mono small eq-history-number">{order.number}</span>
        <span className="eq-history-title">{order.title}</span>
        <span className={`chip wo-state wo-state-${order.state}`}>{translateValue(t, 'woState', order.state)}</span>
        <span className="small muted nowrap">{formatDate(order.createdAt, timeZone)}</span>
      </Link>
    </li>
  );
}
