import type { ComponentType, LazyExoticComponent } from 'react';
import type { MessageKey } from './i18n';
import type { Permission } from './permissions';

export interface PageProps {
  /** path segments after the page's own, e.g. ['42'] on /alarms/42 */
  params: string[];
}

/**
 * A page of the console: one folder under src/pages exporting one of these, listed once in
 * src/pages/index.ts. The shell builds the navigation, the route and the permission check from it.
 */
export interface PageDefinition {
  /** URL segment and nav id: /<id>, data-testid nav-<id> */
  id: string;
  /** nav label */
  title: MessageKey;
  /** the nav shows the page, and the route opens it, only to users holding this permission */
  permission: Permission;
  /** the page itself, loaded when first opened */
  component: LazyExoticComponent<ComponentType<PageProps>> | ComponentType<PageProps>;
  /** small always-mounted piece beside the nav label (counts, background work such as alarm sounds) */
  NavBadge?: ComponentType;
  /** small always-mounted control in the top bar */
  TopBarItem?: ComponentType;
  /** nav icon */
  icon: ComponentType;
}
