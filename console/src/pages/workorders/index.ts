import type { PageDefinition } from '../../shell/page-types';
import { WrenchIcon } from '../../ui/icons';
import { lazy } from 'react';

/** The facilities page: the work-order board and each order (loaded when first opened). */
export const workOrdersPage: PageDefinition = {
  id: 'work-orders',
  title: 'nav.workOrders',
  permission: 'workorders.read',
  icon: WrenchIcon,
  component: lazy(() => import('./WorkOrdersPage').then((m) => ({ default: m.WorkOrdersPage }))),
};
