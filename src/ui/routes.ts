/**
 * The app's routes, kept in the URL hash (#/…) so the static build needs no server routing:
 *   #/                          experiments list
 *   #/experiments/<id>          an experiment (first tab)
 *   #/experiments/<id>/<tab>    an experiment, one tab
 *   #/settings                  settings and environment
 * Pure functions: parse a hash, build a hash. The Router class (state/router.svelte.ts) follows the URL.
 */

export type Route =
  | { page: 'experiments' }
  | { page: 'experiment'; id: string; tab: string | null }
  | { page: 'settings' }
  | { page: 'not-found'; hash: string };

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/+|\/+$/g, '');
  if (path === '' || path === 'experiments') return { page: 'experiments' };
  if (path === 'settings') return { page: 'settings' };
  const parts = path.split('/');
  if (parts[0] === 'experiments' && (parts.length === 2 || parts.length === 3)) {
    const id = decode(parts[1]);
    const tab = parts.length === 3 ? decode(parts[2]) : null;
    if (id && tab !== '') return { page: 'experiment', id, tab };
  }
  return { page: 'not-found', hash };
}

export function hrefFor(route: Route): string {
  switch (route.page) {
    case 'experiments':
      return '#/';
    case 'settings':
      return '#/settings';
    case 'experiment':
      return `#/experiments/${encodeURIComponent(route.id)}${route.tab ? `/${encodeURIComponent(route.tab)}` : ''}`;
    case 'not-found':
      return route.hash || '#/';
  }
}
