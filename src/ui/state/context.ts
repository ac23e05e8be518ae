/** Typed access to the app state and the router from any component below App. */
import { getContext, setContext } from 'svelte';
import type { AppState } from './app.svelte.ts';
import type { Router } from './router.svelte.ts';

const APP = Symbol('app');
const ROUTER = Symbol('router');

export function provideApp(app: AppState, router: Router): void {
  setContext(APP, app);
  setContext(ROUTER, router);
}

export function useApp(): AppState {
  const app = getContext<AppState | undefined>(APP);
  if (!app) throw new Error('useApp() outside App.svelte');
  return app;
}

export function useRouter(): Router {
  const router = getContext<Router | undefined>(ROUTER);
  if (!router) throw new Error('useRouter() outside App.svelte');
  return router;
}
