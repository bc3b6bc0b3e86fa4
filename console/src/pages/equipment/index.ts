import { lazy } from 'react';
import type { PageDefinition } from '../../shell/page-types';
import { ClipboardIcon } from '../../ui/icons';

/** The facilities team's equipment: the ledger (设备台账), each asset's history, and the maintenance plans (维保计划). */
export const equipmentPage: PageDefinition = {
  id: 'equipment',
  title: 'nav.equipment',
  permission: 'workorders.read',
  icon: ClipboardIcon,
  component: lazy(() => import('./EquipmentPage').then((m) => ({ default: m.EquipmentPage }))),
};
