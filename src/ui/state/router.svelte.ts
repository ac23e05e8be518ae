/** Follows the URL hash: `.current` is the route being shown. Create one per page (App does). */
import { hrefFor, parseHash, type Route } from '../routes.ts';

export class Router {
  current = $state.raw<Route>(parseHash(location.hash));

  constructor() {
    window.addEventListener('hashchange', () => {
      this.current = parseHash(location.hash);
    });
  }

  go(route: Route): void {
    location.hash = hrefFor(route);
  }
}
