import type { PageDefinition } from '../../shell/page-types';
import { BellIcon } from '../../ui/icons';
import { AlarmsNavBadge } from './AlarmsNavBadge';
import { AlarmsPage } from './AlarmsPage';

/** The landing page of guards: loaded with the shell, not on demand, so it shows at once. */
export const alarmsPage: PageDefinition = {
  id: 'alarms',
  title: 'nav.alarms',
  permission: 'alarms.read',
  icon: BellIcon,
  component: AlarmsPage,
  NavBadge: AlarmsNavBadge,
};
