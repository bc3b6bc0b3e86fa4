import { useEffect, useState } from 'react';
import { api } from '../../shell/api-client';

const cache = new Map<string, Promise<Map<string, string>>>();

function namesOf(site: string): Promise<Map<string, string>> {
  let names = cache.get(site);
  if (!names) {
    names = api.get<{ buildings: { id: string; name: string | null }[]; assets: { id: string; name: string | null }[] }>(`/sites/${encodeURIComponent(site)}/assets`).then(
      (r) => new Map([...r.buildings, ...r.assets].map((x) => [x.id, x.name ?? x.id])),
      () => {
        cache.delete(site);
        return new Map<string, string>();
      },
    );
    cache.set(site, names);
  }
  return names;
}

/** Names of the buildings and assets of these sites (ids where a name is not known), loaded once per site. */
export function useAssetNames(sites: readonly string[]): (site: string, id: string | null) => string | null {
  const [names, setNames] = useState<Map<string, Map<string, string>>>(new Map());
  const key = [...new Set(sites)].sort().join(',');
  useEffect(() => {
    let cancelled = false;
    const wanted = key ? key.split(',') : [];
    void Promise.all(wanted.map(async (site) => [site, await namesOf(site)] as const)).then((loaded) => {
      if (!cancelled) setNames(new Map(loaded));
    });
    return () => {
      cancelled = true;
    };
  }, [key]);
  return (site, id) => (id === null ? null : names.get(site)?.get(id) ?? id);
}
