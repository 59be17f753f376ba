/**
 * The dashboard's page: a header, the view the address names (router.ts), and the live feed shared by the
 * views. Served by the collector at `/`, built by esbuild (build.mjs) into dist/.
 */
import type { FlowResponse } from '../../collector/src/api/types.ts';
import { ApiError, getJson } from './api-client.ts';
import { el } from './dom.ts';
import { openLive } from './live-stream.ts';
import { parseRoute, type Route } from './router.ts';
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
  if (route.view === 'flow') return flowFacts(route.flowId);
  const what = route.view === 'alert' ? `Alert ${route.alertId}` : `Nothing at ${route.hash}`;
  const element = el('section', { className: 'notice' }, el('h1', {}, what),
    el('p', {}, 'This view is not in this version of the dashboard yet. '), el('a', { href: '#/map' }, 'Back to the map'));
  return { element, start() {}, stop() {} };
}

/** Until the flow timeline: what the API says of the flow, in words. */
function flowFacts(flowId: string): View {
  const body = el('div', {}, el('p', { className: 'muted' }, 'reading…'));
  const element = el('section', { className: 'notice', dataset: { testid: 'flow-facts' } }, el('h1', {}, 'Flow'), body);
  return {
    element,
    start() {
      getJson<FlowResponse>(`/api/flows/${encodeURIComponent(flowId)}`).then(({ flow }) => {
        const rows: [string, string][] = [
          ['flow', flow.flowId], ['business keys', flow.businessKeys.join(', ') || '–'], ['state', flow.state],
          ['services', flow.services.join(' → ')], ['events', flow.eventTypes.join(' → ')],
          ['traces', String(flow.traceCount)], ['spans', String(flow.spanCount)],
        ];
        if (flow.explanation !== null) rows.push(['why', flow.explanation.message]);
        body.replaceChildren(el('dl', {}, ...rows.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, value)])),
          el('p', { className: 'muted' }, 'The flow\'s timeline is not in this version of the dashboard yet.'));
      }, (error: Error) => body.replaceChildren(el('p', {}, error instanceof ApiError && error.status === 404 ? 'No flow has this id.' : error.message)));
    },
    stop() {},
  };
}

function show(): void {
  current?.stop();
  const route = parseRoute(location.hash);
  current = viewFor(route);
  main.replaceChildren(current.element);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) link.classList.toggle('active', link.dataset.route === route.view);
  current.start();
}

window.addEventListener('hashchange', show);
show();
openLive('/api/live', (event, data) => current?.live?.(event, data), ({ connected }) => {
  liveState.textContent = connected ? 'live' : 'reconnecting…';
  liveState.classList.toggle('on', connected);
});
