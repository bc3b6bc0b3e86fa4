import { useState } from 'react';
import { useI18n } from '../../shell/i18n';
import type { PageProps } from '../../shell/page-types';
import { Link, navigate, pathOf } from '../../shell/router';
import { useSession } from '../../shell/session';
import { AssetDialog } from './AssetDialog';
import { AssetView } from './AssetView';
import { LedgerView } from './LedgerView';
import { PlanCalendarView } from './PlanCalendarView';
import { PlanView } from './PlanView';

/**
 * The facilities team's equipment: /equipment the ledger, /equipment/<site>/<asset> an asset,
 * /equipment/plans the plan calendar, /equipment/plans/<id> a plan. "plans" is read as the calendar
 * first, so a site whose id is "plans" shows its assets through the ledger only.
 */
export function EquipmentPage({ params }: PageProps) {
  const [first, second] = params;
  if (first === 'plans' && second) {
    return (
      <div className="page eq-page">
        <PlanView id={second} />
      </div>
    );
  }
  if (first && first !== 'plans' && second) {
    return (
      <div className="page eq-page">
        <AssetView site={first} asset={second} />
      </div>
    );
  }
  return <EquipmentOverview tab={first === 'plans' ? 'plans' : 'ledger'} />;
}

function EquipmentOverview({ tab }: { tab: 'ledger' | 'plans' }) {
  const { t } = useI18n();
  const session = useSession();
  const [adding, setAdding] = useState(false);
  return (
    <div className="page eq-page">
      <div className="page-head">
        <h1>{t('eq.title')}</h1>
        {tab === 'ledger' && session.can('workorders.manage') ? (
          <button type="button" className="button primary" data-testid="eq-add-asset" onClick={() => setAdding(true)}>
            {t('eq.addAsset')}
          </button>
        ) : null}
      </div>
      <EquipmentTabs tab={tab} />
      {tab === 'plans' ? <PlanCalendarView /> : <LedgerView />}
      {adding ? <AssetDialog onClose={() => setAdding(false)} onSaved={(asset) => navigate(pathOf('equipment', asset.site, asset.id))} /> : null}
    </div>
  );
}

function EquipmentTabs({ tab }: { tab: 'ledger' | 'plans' }) {
  const { t } = useI18n();
  return (
    <nav className="tabs eq-tabs" aria-label={t('eq.title')}>
      <Link href={pathOf('equipment')} className={tab === 'ledger' ? 'active' : ''} data-testid="eq-tab-ledger" aria-current={tab === 'ledger' ? 'page' : undefined}>
        {t('eq.ledger')}
      </Link>
      <Link href={pathOf('equipment', 'plans')} className={tab === 'plans' ? 'active' : ''} data-testid="eq-tab-plans" aria-current={tab === 'plans' ? 'page' : undefined}>
        {t('eq.planCalendar')}
      </Link>
    </nav>
  );
}
