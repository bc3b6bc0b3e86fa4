import { lazy } from 'react';
import type { PageDefinition } from '../../shell/page-types';
import { ShieldIcon } from '../../ui/icons';

export const auditPage: PageDefinition = {
  id: 'audit',
  title: 'nav.audit',
  permission: 'audit.read',
  icon: ShieldIcon,
  component: lazy(() => import('./AuditPage').then((m) => ({ default: m.AuditPage }))),
};
