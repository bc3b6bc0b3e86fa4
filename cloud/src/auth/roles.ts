/** What a person does with Gatehouse; a user may hold several. */
export const ROLES = ['admin', 'guard', 'engineer', 'facilities'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who is asking: a logged-in user (session cookie) or an API token, with the roles and sites it acts
 * with (a token's are a subset of its owner's).
 */
export interface Principal {
  kind: 'session' | 'token';
  username: string;
  displayName: string | null;
  roles: readonly Role[];
  /** site ids granted, or '*' for every site */
  sites: readonly string[] | '*';
  /** the session's CSRF token (sessions only) */
  csrfToken?: string;
  /** the token's id (tokens only) */
  tokenId?: string;
}

export function canSeeSite(principal: Principal, site: string): boolean {
  return principal.sites === '*' || principal.sites.includes(site);
}

/** The sites a principal may see, narrowed to one when the request names it. */
export function sitesFilter(principal: Principal): readonly string[] | '*' {
  return principal.sites;
}
