import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../shell/api-client';
import type { Priority } from '../../shell/api-types';
import { translateValue, useI18n } from '../../shell/i18n';
import type { PageProps } from '../../shell/page-types';
import { Link, navigate, pathOf } from '../../shell/router';
import { ALL_SITES, useSession } from '../../shell/session';
import { formatMinute } from '../../shell/time';
import { ErrorNote } from '../../ui/errors';
import { NewWorkOrderDialog } from './NewWorkOrderDialog';
import { SlaBadge, WoPriorityBadge } from './SlaBadge';
import { WorkOrderDetail } from './WorkOrderDetail';
import { WorkOrderFigures } from './WorkOrderFigures';
import { useAssetNames } from './use-asset-names';
import { CATEGORIES, currentSla, WORK_ORDER_STATES, type Category, type Team, type WorkOrder, type WorkOrderState } from './work-order-types';

const TABS = ['active', ...WORK_ORDER_STATES] as const;
type Tab = (typeof TABS)[number];
const ACTIVE: readonly WorkOrderState[] = ['open', 'assigned', 'in_progress', 'on_hold'];
/** The board follows changes made elsewhere (the raiser, colleagues) this often. */
const REFRESH_MS = 15_000;

interface Filters {
  tab: Tab;
  category: Category | '';
  priority: Priority | '';
  team: string;
  mine: boolean;
}

/**
 * The facilities board: work orders most urgent first with their SLA clock, by state, for a team, a
 * category or oneself; a card opens the order. Laid out as one column of cards on a phone.
 */
export function WorkOrdersPage({ params }: PageProps) {
  const { t } = useI18n();
  const session = useSession();
  const site = session.selectedSite;
  const [filters, setFilters] = useState<Filters>({ tab: 'active', category: '', priority: '', team: '', mine: false });
  const [orders, setOrders] = useState<WorkOrder[]>([]);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [teams, setTeams] = useState<Team[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const showFigures = params[0] === 'figures';
  const detailId = params[0] && params[0] !== 'new' && !showFigures ? params[0] : null;
  const creating = params[0] === 'new';

  const load = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const r = await api.get<{ orders: WorkOrder[]; counts: Record<string, number> }>('/work-orders', {
        site: site === ALL_SITES ? undefined : site,
        state: filters.tab,
        category: filters.category || undefined,
        priority: filters.priority || undefined,
        team: filters.team || undefined,
        assignee: filters.mine ? session.user.username : undefined,
        limit: 200,
      });
      if (mine !== generation.current) return;
      setOrders(r.orders);
      setCounts(r.counts);
      setError(null);
    } catch (err) {
      if (mine === generation.current) setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [site, filters, session.user.username]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  useEffect(() => {
    api.get<{ teams: Team[] }>('/work-order-teams', { site: site === ALL_SITES ? undefined : site }).then(
      (r) => setTeams(r.teams),
      () => setTeams([]),
    );
  }, [site]);

  const placeName = useAssetNames(orders.map((o) => o.site));
  if (detailId) {
    return (
      <div className="page wo-page">
        <WorkOrderDetail id={detailId} teams={teams} onChanged={() => void load()} />
      </div>
    );
  }

  const tabCount = (tab: Tab) => (tab === 'active' ? ACTIVE.reduce((n, s) => n + (counts[s] ?? 0), 0) : counts[tab] ?? 0);

  return (
    <div className="page wo-page">
      <div className="page-head">
        <h1>{t('wo.title')}</h1>
        {session.can('workorders.report') ? (
          <button type="button" className="button primary" data-testid="wo-new" onClick={() => navigate(pathOf('work-orders', 'new'))}>
            {t('wo.new')}
          </button>
        ) : null}
      </div>
      <div className="wo-views" role="tablist">
        <button type="button" role="tab" aria-selected={!showFigures} className={`chip-button ${!showFigures ? 'active' : ''}`} onClick={() => navigate(pathOf('work-orders'))}>
          {t('wo.board')}
        </button>
        <button type="button" role="tab" aria-selected={showFigures} className={`chip-button ${showFigures ? 'active' : ''}`} data-testid="wo-view-figures" onClick={() => navigate(pathOf('work-orders', 'figures'))}>
          {t('wo.figures')}
        </button>
      </div>
      {showFigures ? <WorkOrderFigures teams={teams} /> : null}
      <div className="tabs wo-tabs" role="tablist" data-testid="wo-tabs" hidden={showFigures}>
        {TABS.map((tab) => (
          <button
            key={tab}
            type="button"
            role="tab"
            aria-selected={filters.tab === tab}
            className={`chip-button ${filters.tab === tab ? 'active' : ''}`}
            data-testid={`wo-tab-${tab}`}
            onClick={() => setFilters({ ...filters, tab })}
          >
            {translateValue(t, 'woState', tab)} <span className="wo-count">{tabCount(tab)}</span>
          </button>
        ))}
      </div>
      <div className="filters wo-filters" hidden={showFigures}>
        <label className="field">
          <span>{t('wo.category')}</span>
          <select value={filters.category} data-testid="wo-filter-category" onChange={(e) => setFilters({ ...filters, category: e.target.value as Category | '' })}>
            <option value="">{t('wo.allCategories')}</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {translateValue(t, 'woCategory', c)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('wo.priority')}</span>
          <select value={filters.priority} onChange={(e) => setFilters({ ...filters, priority: (e.target.value ? Number(e.target.value) : '') as Priority | '' })}>
            <option value="">{t('wo.allPriorities')}</option>
            {[1, 2, 3, 4].map((p) => (
              <option key={p} value={p}>
                P{p} {translateValue(t, 'woPriority', p)}
              </option>
            ))}
          </select>
        </label>
        {teams.length > 0 ? (
          <label className="field">
            <span>{t('wo.team')}</span>
            <select value={filters.team} onChange={(e) => setFilters({ ...filters, team: e.target.value })}>
              <option value="">{t('wo.allTeams')}</option>
              {teams.map((team) => (
                <option key={team.id} value={team.id}>
                  {team.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <label className="check wo-mine">
          <input type="checkbox" checked={filters.mine} data-testid="wo-mine" onChange={(e) => setFilters({ ...filters, mine: e.target.checked })} />
          {t('wo.mine')}
        </label>
      </div>
      <ErrorNote error={showFigures ? null : error} />
      {!showFigures && !loading && orders.length === 0 && !error ? <p className="muted wo-empty">{t('wo.none')}</p> : null}
      <ul className="wo-list" data-testid="wo-list" hidden={showFigures}>
        {orders.map((order) => (
          <WorkOrderCard key={order.id} order={order} showSite={site === ALL_SITES} teams={teams} place={placeName} />
        ))}
      </ul>
      {creating ? (
        <NewWorkOrderDialog
          teams={teams}
          onClose={() => navigate(pathOf('work-orders'))}
          onCreated={(order) => {
            void load();
            navigate(pathOf('work-orders', order.id), { replace: true });
          }}
        />
      ) : null}
    </div>
  );
}

function WorkOrderCard({ order, showSite, teams, place }: { order: WorkOrder; showSite: boolean; teams: Team[]; place: (site: string, id: string | null) => string | null }) {
  const { t } = useI18n();
  const session = useSession();
  const sla = currentSla(order);
  const team = teams.find((x) => x.id === order.team);
  return (
    <li className={`wo-card p${order.priority}`} data-testid="wo-card" data-state={order.state}>
      <Link href={pathOf('work-orders', order.id)} className="wo-card-link">
        <div className="wo-card-top">
          <WoPriorityBadge priority={order.priority} />
          <span className="mono muted small">{order.number}</span>
          <span className={`chip wo-state wo-state-${order.state}`}>{translateValue(t, 'woState', order.state)}</span>
          {ACTIVE.includes(order.state) ? <SlaBadge status={sla.status} which={sla.which} dueAt={sla.dueAt} timeZone={session.timeZoneOf(order.site)} /> : null}
        </div>
        <div className="wo-card-title">{order.title}</div>
        <div className="wo-card-facts muted small">
          <span>{translateValue(t, 'woCategory', order.category)}</span>
          {showSite ? <span>{session.siteName(order.site)}</span> : null}
          {order.asset || order.building || order.unit ? (
            <span>{[place(order.site, order.asset) ?? place(order.site, order.building), order.floor && t('wo.floorN', { floor: order.floor }), order.unit].filter(Boolean).join(' · ')}</span>
          ) : null}
          <span>{order.assignee ? t('wo.assignedTo', { who: order.assignee }) : team ? team.name : t('wo.unassigned')}</span>
          <span>{formatMinute(order.createdAt, session.timeZoneOf(order.site))}</span>
          {order.occurrences > 1 ? <span>{t('wo.occurrences', { n: order.occurrences })}</span> : null}
          {order.conditionClearedAt !== null && ACTIVE.includes(order.state) ? <span className="wo-cleared">{t('wo.conditionCleared')}</span> : null}
        </div>
      </Link>
    </li>
  );
}
