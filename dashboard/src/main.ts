/**
 * The dashboard's page: a header, the view the address names (router.ts), and the live feed shared by the
 * views. Served by the collector at `/`, built by esbuild (build.mjs) into dist/.
 */
import { el } from './dom.ts';
import { openLive } from './live-stream.ts';
import { parseRoute, type Route } from './router.ts';
import { searchForm } from './search.ts';
import { AlertsView } from './views/alerts-view.ts';
import { CatalogView } from './views/catalog-view.ts';
import { FlowView } from './views/flow-view.ts';
import { MapView } from './views/map-view.ts';

interface View {
  element: HTMLElement;
  start(): void;
  stop(): void;
  live?(event: string, data: unknown): void;
}

const main = document.getElementById('view')!;
const liveState = document.getElementById('live')!;
let current: View | null = null;

function viewFor(route: Route): View {
  if (route.view === 'map') return new MapView();
  if (route.view === 'flow') return new FlowView(route.flowId);
  if (route.view === 'alerts') return new AlertsView(route.alertId);
  if (route.view === 'catalog') return new CatalogView();
  const element = el('section', { className: 'notice' }, el('h1', {}, `Nothing at ${route.hash}`), el('a', { href: '#/map' }, 'Back to the map'));
  return { element, start() {}, stop() {} };
}

function show(): void {
  current?.stop();
  const route = parseRoute(location.hash);
  current = viewFor(route);
  main.replaceChildren(current.element);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) link.classList.toggle('active', link.dataset.route === route.view);
  current.start();
}

document.getElementById('search')!.append(searchForm());
window.addEventListener('hashchange', show);
show();
openLive('/api/live', (event, data) => current?.live?.(event, data), ({ connected }) => {
  liveState.textContent = connected ? 'live' : 'reconnecting…';
  liveState.classList.toggle('on', connected);
});
