import { lazy } from 'react';
import type { PageDefinition } from '../../shell/page-types';
import { DoorIcon } from '../../ui/icons';

export const doorsPage: PageDefinition = {
  id: 'doors',
  title: 'nav.doors',
  permission: 'sites.read',
  icon: DoorIcon,
  component: lazy(() => import('./DoorsPage').then((m) => ({ default: m.DoorsPage }))),
};
