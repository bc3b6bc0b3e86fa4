import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { api } from './api-client';
import type { Device, Site, User } from './api-types';
import { hasPermission, type Permission } from './permissions';

/**
 * What every page knows once logged in: who is there, what they may do, the sites they see (with
 * time zones), the device names, and the site picked in the top bar ('*' = all granted sites).
 */

export const ALL_SITES = '*';

export interface Session {
  user: User;
  can: (permission: Permission) => boolean;
  sites: Site[];
  siteById: ReadonlyMap<string, Site>;
  /** a site id, or ALL_SITES */
  selectedSite: string;
  setSelectedSite: (site: string) => void;
  /** the site's time zone; for a record without a site, the picked site's */
  timeZoneOf: (site: string | null | undefined) => string;
  /** the zone for inputs that are not about one record: the picked site's, else the one all sites share */
  timeZone: string;
  siteName: (site: string | null | undefined) => string;
  device: (site: string, id: string) => Device | undefined;
  deviceName: (site: string, id: string | null | undefined) => string;
  devices: readonly Device[];
  reloadDevices: () => void;
  logout: () => void;
}

const SessionContext = createContext<Session | null>(null);
const SITE_KEY = 'gh.site';

export function readStoredSite(sites: Site[]): string {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(SITE_KEY);
  } catch {
    // storage blocked
  }
  // with one site there is no "all sites" choice
  if (sites.length === 1 && sites[0]) return sites[0].id;
  if (stored && (stored === ALL_SITES || sites.some((s) => s.id === stored))) return stored;
  return ALL_SITES;
}

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export function SessionProvider(props: {
  user: User;
  sites: Site[];
  devices: Device[];
  onLogout: () => void;
  children: ReactNode;
}) {
  const { user, sites, onLogout } = props;
  const [selectedSite, setSelected] = useState(() => readStoredSite(sites));
  const [devices, setDevices] = useState(props.devices);

  const setSelectedSite = useCallback((site: string) => {
    setSelected(site);
    try {
      localStorage.setItem(SITE_KEY, site);
    } catch {
      // not persisted
    }
  }, []);

  const reloadDevices = useCallback(() => {
    api.get<{ devices: Device[] }>('/devices').then(
      (r) => setDevices(r.devices),
      () => undefined,
    );
  }, []);

  const value = useMemo<Session>(() => {
    const siteById = new Map(sites.map((s) => [s.id, s]));
    const deviceByKey = new Map(devices.map((d) => [`${d.site}\u0000${d.id}`, d]));
    const zones = new Set(sites.map((s) => s.timeZone));
    const sharedZone = zones.size === 1 ? [...zones][0] : undefined;
    const timeZone = siteById.get(selectedSite)?.timeZone ?? sharedZone ?? sites[0]?.timeZone ?? browserZone;
    return {
      user,
      can: (p) => hasPermission(user, p),
      sites,
      siteById,
      selectedSite,
      setSelectedSite,
      timeZone,
      timeZoneOf: (site) => (site ? siteById.get(site)?.timeZone : undefined) ?? timeZone,
      siteName: (site) => (site ? (siteById.get(site)?.name ?? site) : '—'),
      device: (site, id) => deviceByKey.get(`${site}\u0000${id}`),
      deviceName: (site, id) => (id ? (deviceByKey.get(`${site}\u0000${id}`)?.name ?? id) : '—'),
      devices,
      reloadDevices,
      logout: onLogout,
    };
  }, [user, sites, devices, selectedSite, setSelectedSite, reloadDevices, onLogout]);

  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
