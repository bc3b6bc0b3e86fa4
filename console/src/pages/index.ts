import type { PageDefinition } from '../shell/page-types';
import { alarmsPage } from './alarms';
import { auditPage } from './audit';
import { doorsPage } from './doors';
import { equipmentPage } from './equipment';
import { eventsPage } from './events';
import { usersPage } from './users';
import { workOrdersPage } from './workorders';

/**
 * The console's pages, in navigation order. A new page is a folder under src/pages exporting a
 * PageDefinition, added here; the first one the user may open is the landing page.
 */
export const PAGES: readonly PageDefinition[] = [alarmsPage, doorsPage, workOrdersPage, equipmentPage, eventsPage, auditPage, usersPage];
