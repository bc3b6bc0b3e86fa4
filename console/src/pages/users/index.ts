import { lazy } from 'react';
import type { PageDefinition } from '../../shell/page-types';
import { UsersIcon } from '../../ui/icons';

export const usersPage: PageDefinition = {
  id: 'users',
  title: 'nav.users',
  permission: 'users.manage',
  icon: UsersIcon,
  component: lazy(() => import('./UsersPage').then((m) => ({ default: m.UsersPage }))),
};
