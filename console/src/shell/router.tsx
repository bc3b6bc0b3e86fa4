import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/**
 * History-API routing: /alarms, /alarms/42, /events … The cloud answers every unknown path with
 * index.html, so deep links and reloads land here. The first path segment picks the page; the rest
 * is the page's own business.
 */

const NAVIGATE_EVENT = 'gh:navigate';

function subscribe(callback: () => void): () => void {
  window.addEventListener('popstate', callback);
  window.addEventListener(NAVIGATE_EVENT, callback);
  return () => {
    window.removeEventListener('popstate', callback);
    window.removeEventListener(NAVIGATE_EVENT, callback);
  };
}

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export interface Route {
  /** the page id: first path segment ('' on /) */
  page: string;
  /** the segments after it, decoded */
  params: string[];
}

export function parseRoute(path: string): Route {
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { page: segments[0] ?? '', params: segments.slice(1) };
}

export function pathOf(page: string, ...params: string[]): string {
  return ['', page, ...params.map(encodeURIComponent)].join('/');
}

/** An <a> that navigates in place on a plain click and still opens a new tab on ctrl/middle click. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}
