import { lazy } from 'react';
import type { PageDefinition } from '../../shell/page-types';
import { ListIcon } from '../../ui/icons';

export const eventsPage: PageDefinition = {
  id: 'events',
  title: 'nav.events',
  permission: 'events.read',
  icon: ListIcon,
  component: lazy(() => import('./EventsPage').then((m) => ({ default: m.EventsPage }))),
};
