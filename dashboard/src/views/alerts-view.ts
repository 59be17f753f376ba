/**
 * Alerts (`#/alerts`, one opened at `#/alerts/<id>`, where notifications link): the firing ones first,
 * then the latest resolved, each with its severity, how many flows and since when; the one opened shows
 * its flows, its history, where its notifications went, and acknowledge and silence. Below, what needs a
 * fix more than a page: where trace context is lost, and events nobody consumed.
 */
import type {
  AlertDetailResponse, AlertResponse, AlertsResponse, ApiAlert, ApiAlertFlow, FlowsResponse, PropagationDiagnosticsResponse,
} from '../../../collector/src/api/types.ts';
import { getJson, postJson, query } from '../api-client.ts';
import { el, viewHref } from '../dom.ts';
import { counted, shortDuration } from '../model/format.ts';

const HOUR_MS = 3_600_000;

export class AlertsView {
  readonly element: HTMLElement;
  readonly #list: HTMLElement;
  readonly #opened: HTMLElement;
  readonly #diagnostics: HTMLElement;
  #alertId: string | null;
  #reloadTimer: number | null = null;

  constructor(alertId: string | null) {
    this.#alertId = alertId;
    this.#list = el('div', { className: 'alert-list', dataset: { testid: 'alert-list' } }, el('p', { className: 'muted' }, 'reading alerts…'));
    this.#opened = el('aside', { className: 'details', dataset: { testid: 'alert-details' } },
      el('p', { className: 'muted' }, 'Open an alert for its flows, history and notifications.'));
    this.#diagnostics = el('div', { className: 'diagnostics', dataset: { testid: 'diagnostics' } });
    this.element = el('section', { className: 'alerts-view' },
      el('div', { className: 'view-head' }, el('h1', {}, 'Alerts')),
      el('div', { className: 'alerts-body' }, el('div', { className: 'alerts-main' }, this.#list, this.#diagnostics), this.#opened));
  }

  start(): void {
    void this.#load();
  }

  stop(): void {
    if (this.#reloadTimer !== null) window.clearTimeout(this.#reloadTimer);
  }

  live(event: string): void {
    if ((event !== 'alerts' && event !== 'resync') || this.#reloadTimer !== null) return;
    this.#reloadTimer = window.setTimeout(() => {
      this.#reloadTimer = null;
      void this.#load();
    }, 500);
  }

  async #load(): Promise<void> {
    try {
      const [firing, resolved] = await Promise.all([
        getJson<AlertsResponse>(`/api/alerts${query({ state: 'firing', limit: 100 })}`),
        getJson<AlertsResponse>(`/api/alerts${query({ state: 'resolved', limit: 30 })}`),
      ]);
      this.#list.replaceChildren(
        el('h2', {}, `Firing (${firing.alerts.length})`),
        firing.alerts.length === 0 ? el('p', { className: 'muted' }, 'Nothing is firing.') : el('ul', { className: 'alerts' }, ...firing.alerts.map((a) => this.#item(a))),
        el('h2', {}, 'Resolved lately'),
        resolved.alerts.length === 0 ? el('p', { className: 'muted' }, 'None.') : el('ul', { className: 'alerts' }, ...resolved.alerts.map((a) => this.#item(a))),
      );
    } catch (error) {
      this.#list.replaceChildren(el('p', {}, `Could not read alerts: ${(error as Error).message}`));
    }
    if (this.#alertId !== null) await this.#open(this.#alertId);
    await this.#loadDiagnostics();
  }

  #item(alert: ApiAlert): HTMLElement {
    const since = alert.state === 'firing' ? `firing for ${shortDuration(Date.now() - alert.startsAtMs)}` : `resolved ${shortDuration(Date.now() - (alert.endsAtMs ?? alert.startsAtMs))} ago`;
    const notes = [alert.acknowledged === null ? '' : `acknowledged by ${alert.acknowledged.by}`,
      alert.silencedUntilMs !== null && alert.silencedUntilMs > Date.now() ? `silenced until ${new Date(alert.silencedUntilMs).toLocaleTimeString()}` : '']
      .filter((note) => note !== '');
    return el('li', { className: `alert ${alert.state}${alert.id === this.#alertId ? ' opened' : ''}`, dataset: { alert: alert.id } },
      el('span', { className: `severity ${alert.severity}` }, alert.severity),
      el('a', { href: viewHref('alerts', alert.id) }, alert.title),
      el('span', { className: 'muted' }, ` ${since}${notes.length === 0 ? '' : ` · ${notes.join(' · ')}`}`));
  }

  async #open(alertId: string): Promise<void> {
    let alert: ApiAlert;
    let flows: ApiAlertFlow[];
    try {
      ({ alert, flows } = await getJson<AlertDetailResponse>(`/api/alerts/${encodeURIComponent(alertId)}`));
    } catch (error) {
      this.#opened.replaceChildren(el('h2', {}, 'No such alert'), el('p', {}, (error as Error).message));
      return;
    }
    const act = async (what: 'ack' | 'silence', body: object) => {
      try {
        await postJson<AlertResponse>(`/api/alerts/${encodeURIComponent(alert.id)}/${what}`, body);
        await this.#load();
      } catch (error) {
        this.#opened.append(el('p', { className: 'error-text' }, (error as Error).message));
      }
    };
    const button = (label: string, onClick: () => void, testid: string) => {
      const b = el('button', { type: 'button', className: 'action', dataset: { testid } }, label);
      b.addEventListener('click', onClick);
      return b;
    };
    const silenced = alert.silencedUntilMs !== null && alert.silencedUntilMs > Date.now();
    this.#opened.replaceChildren(
      el('p', {}, el('span', { className: `severity ${alert.severity}` }, alert.severity), ` ${alert.state}`),
      el('h2', {}, alert.title),
      el('dl', {},
        el('dt', {}, 'about'), el('dd', {}, alert.subject),
        el('dt', {}, 'fired'), el('dd', {}, new Date(alert.startsAtMs).toLocaleString()),
        el('dt', {}, alert.endsAtMs === null ? 'flows now' : 'resolved'), el('dd', {}, alert.endsAtMs === null ? `${alert.flowCount} (at most ${alert.peakFlows})` : new Date(alert.endsAtMs).toLocaleString()),
        el('dt', {}, 'acknowledged'), el('dd', {}, alert.acknowledged === null ? 'no' : `by ${alert.acknowledged.by}, ${new Date(alert.acknowledged.atMs).toLocaleString()}`),
        el('dt', {}, 'silenced'), el('dd', {}, silenced ? `until ${new Date(alert.silencedUntilMs!).toLocaleString()}` : 'no')),
      el('div', { className: 'actions' },
        button('Acknowledge', () => void act('ack', { by: 'dashboard' }), 'acknowledge'),
        silenced ? button('Lift the silence', () => void act('silence', { forMs: 0, by: 'dashboard' }), 'unsilence')
          : button('Silence for an hour', () => void act('silence', { forMs: HOUR_MS, by: 'dashboard' }), 'silence')),
      el('h3', {}, alert.flowIds.length === 0 ? 'No flows: it is about the choreography' : 'Its flows, the longest stuck first'),
      el('ul', { className: 'flow-list', dataset: { testid: 'alert-flows' } }, ...alertFlowItems(alert, flows)),
      el('h3', {}, 'History'),
      el('ul', { className: 'history', dataset: { testid: 'alert-history' } }, ...alert.history.map((entry) =>
        el('li', {}, `${new Date(entry.atMs).toLocaleTimeString()} ${entry.event}${entry.by === undefined ? '' : ` by ${entry.by}`} · ${counted(entry.flows, 'flow')}`))),
      el('h3', {}, 'Notifications'),
      alert.deliveries.length === 0 ? el('p', { className: 'muted' }, 'None: no receiver is configured, or none was owed yet.')
        : el('ul', { className: 'history' }, ...alert.deliveries.map((d) =>
          el('li', {}, `${d.kind} → ${d.receiver}: ${d.outcome ?? 'owed'}${d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}`))),
    );
  }

  async #loadDiagnostics(): Promise<void> {
    try {
      const [gaps, orphans] = await Promise.all([
        getJson<PropagationDiagnosticsResponse>(`/api/diagnostics/propagation${query({ limit: 20 })}`),
        getJson<FlowsResponse>(`/api/flows${query({ anomaly: 'orphan-event', limit: 20 })}`),
      ]);
      this.#diagnostics.replaceChildren(
        el('h2', {}, 'Trace context lost'),
        gaps.gaps.length === 0 ? el('p', { className: 'muted' }, 'Every consumer carried the context on.') : el('ul', { className: 'gaps' }, ...gaps.gaps.map((gap) =>
          el('li', {}, el('strong', {}, gap.message), ` · ${gap.lostHops} hops in ${gap.flows} flows (matched by message ${gap.matchedBy.message}, by key ${gap.matchedBy.key}) · `,
            el('a', { href: viewHref('flows', gap.exampleFlowId) }, 'an example')))),
        el('h2', {}, 'Events nobody consumed'),
        orphans.flows.length === 0 ? el('p', { className: 'muted' }, 'None.') : el('ul', { className: 'flow-list' }, ...orphans.flows.map((flow) =>
          el('li', {}, el('a', { href: viewHref('flows', flow.flowId) }, flow.businessKeys[0] ?? flow.flowId), el('span', { className: 'muted' }, ` ${flow.eventTypes.join(' → ')}`)))),
      );
    } catch (error) {
      this.#diagnostics.replaceChildren(el('p', { className: 'muted' }, `Could not read the diagnostics: ${(error as Error).message}`));
    }
  }
}

/**
 * An alert's flows as a person looks for them: by business key (the order id) with their state; the
 * flows the API did not describe (past the first ones, or gone) by id.
 */
function alertFlowItems(alert: ApiAlert, flows: readonly ApiAlertFlow[]): HTMLElement[] {
  const described = new Map(flows.map((flow) => [flow.flowId, flow]));
  return alert.flowIds.map((flowId) => {
    const flow = described.get(flowId);
    if (flow === undefined || flow.businessKeys.length === 0) {
      return el('li', {}, el('a', { href: viewHref('flows', flowId), className: 'mono' }, flowId));
    }
    return el('li', {},
      el('a', { href: viewHref('flows', flowId) }, flow.businessKeys.join(', ')),
      ' ', el('span', { className: `state ${flow.state}` }, flow.state));
  });
}
