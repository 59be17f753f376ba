/**
 * The catalogue (`#/catalog`): how flows went over a window — by state, the step funnel (how many flows
 * reached each event, how many are stuck or failed there) and the end-to-end durations as charts — then
 * every event type seen, with its topics, who sends and handles it, its rate and the attribute keys its
 * spans carry; and the choreography as an AsyncAPI document to download.
 */
import * as d3 from 'd3';
import type { CatalogResponse, FlowStatsResponse, ModelResponse } from '../../../collector/src/api/types.ts';
import { authHeaders, getJson, query } from '../api-client.ts';
import { el } from '../dom.ts';
import { shortDuration, shortRate } from '../model/format.ts';
import { durationBuckets, funnelBars, type DurationBucket, type FunnelBar } from '../model/stats-charts.ts';

const WINDOWS: [string, number][] = [['the last hour', 3_600_000], ['the last day', 86_400_000], ['the last week', 7 * 86_400_000]];

export class CatalogView {
  readonly element: HTMLElement;
  readonly #charts: HTMLElement;
  readonly #events: HTMLElement;
  #windowMs = 86_400_000;

  constructor() {
    const choose = el('select', {});
    choose.setAttribute('aria-label', 'window');
    for (const [label, ms] of WINDOWS) {
      const option = el('option', {}, label);
      option.value = String(ms);
      option.selected = ms === this.#windowMs;
      choose.append(option);
    }
    choose.addEventListener('change', () => {
      this.#windowMs = Number(choose.value);
      void this.#load();
    });
    const download = el('button', { type: 'button', className: 'action', dataset: { testid: 'asyncapi' } }, 'Download the AsyncAPI document');
    download.addEventListener('click', () => void downloadAsyncApi());
    this.#charts = el('div', { className: 'charts', dataset: { testid: 'charts' } }, el('p', { className: 'muted' }, 'reading…'));
    this.#events = el('div', { dataset: { testid: 'catalog-events' } });
    this.element = el('section', { className: 'catalog-view' },
      el('div', { className: 'view-head' }, el('h1', {}, 'Catalogue'), el('span', { className: 'muted' }, 'flows active over'), choose, download),
      this.#charts, this.#events);
  }

  start(): void {
    void this.#load();
  }

  stop(): void {}

  async #load(): Promise<void> {
    const endMs = Date.now();
    try {
      const [stats, catalog, model] = await Promise.all([
        getJson<FlowStatsResponse>(`/api/stats/flows${query({ start: endMs - this.#windowMs, end: endMs })}`),
        getJson<CatalogResponse>('/api/catalog'),
        getJson<ModelResponse>('/api/model'),
      ]);
      this.#drawCharts(stats, model);
      this.#drawEvents(catalog);
    } catch (error) {
      this.#charts.replaceChildren(el('p', {}, `Could not read the statistics: ${(error as Error).message}`));
    }
  }

  #drawCharts(stats: FlowStatsResponse, model: ModelResponse): void {
    const states = Object.entries(stats.byState).filter(([, count]) => count > 0)
      .map(([state, count]) => el('span', { className: `state ${state}` }, `${count} ${state}`));
    const funnel = el('div', { className: 'chart', dataset: { testid: 'funnel' } });
    const durations = el('div', { className: 'chart', dataset: { testid: 'durations' } });
    const d = stats.duration;
    this.#charts.replaceChildren(
      el('p', { className: 'states' }, ...(states.length === 0 ? [el('span', { className: 'muted' }, 'No flow was active in this window.')] : states)),
      el('div', { className: 'chart-row' },
        el('section', {}, el('h2', {}, 'Step funnel'), el('p', { className: 'muted' }, 'flows that reached each event: went on, stuck after it, failed there'), funnel),
        el('section', {}, el('h2', {}, 'End-to-end duration'),
          el('p', { className: 'muted' }, d.count === 0 ? 'no flow ended in this window'
            : `${d.count} flows ended · p50 ${shortDuration(d.p50Ms)} · p90 ${shortDuration(d.p90Ms)} · p99 ${shortDuration(d.p99Ms)} · longest ${shortDuration(d.maxMs)}`),
          durations)),
    );
    drawFunnel(funnel, funnelBars(stats, model));
    drawDurations(durations, durationBuckets(stats), [['p50', d.p50Ms], ['p99', d.p99Ms]]);
  }

  #drawEvents(catalog: CatalogResponse): void {
    const rows = catalog.events.map((event) => el('tr', { dataset: { event: event.eventType } },
      el('td', { className: 'strong' }, event.eventType),
      el('td', {}, event.topics.join(', ')),
      el('td', {}, event.producers.map((p) => p.service).join(', ')),
      el('td', {}, event.consumers.map((c) => (c.consumerGroup === null || c.consumerGroup === c.service ? c.service : `${c.service} (${c.consumerGroup})`)).join(', ')),
      el('td', { className: 'number' }, shortRate(event.ratePerSecond) || '–'),
      el('td', { className: 'number' }, `${event.produced} / ${event.consumed}`),
      el('td', {}, event.attributeKeys.length === 0 ? '–' : el('details', {}, el('summary', {}, `${event.attributeKeys.length} keys`), el('p', { className: 'keys' }, event.attributeKeys.join(', ')))),
      el('td', {}, new Date(event.lastSeenMs).toLocaleString())));
    this.#events.replaceChildren(el('h2', {}, `Event types (${catalog.events.length})`),
      // "handled" counts handlings, not messages: every group handles each message, retries and duplicates again
      el('p', { className: 'muted', dataset: { testid: 'handled-note' } },
        'sent / handled: the sends stored, and the handlings by every consumer group (each group handles every message; retries and duplicates count again)'),
      el('table', { className: 'catalog' },
        el('thead', {}, el('tr', {}, ...['event type', 'topics', 'sent by', 'handled by', 'rate', 'sent / handled', 'attribute keys', 'last seen'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...rows)));
  }
}

function drawFunnel(container: HTMLElement, bars: FunnelBar[]): void {
  if (bars.length === 0) return void container.append(el('p', { className: 'muted' }, 'nothing reached yet'));
  const width = 600;
  const label = 170;
  const rowHeight = 24;
  // room after the longest bar for its count, stuck and failed
  const x = d3.scaleLinear().domain([0, d3.max(bars, (bar) => bar.reached) ?? 1]).range([0, width - label - 170]);
  const svg = d3.select(container).append('svg').attr('width', width).attr('height', bars.length * rowHeight + 6).attr('class', 'funnel');
  const row = svg.selectAll('g').data(bars).join('g').attr('transform', (_, i) => `translate(0,${i * rowHeight + 3})`).attr('data-event', (bar) => bar.eventType);
  row.append('text').attr('class', 'axis-label').attr('x', label - 8).attr('y', 15).attr('text-anchor', 'end').text((bar) => (bar.eventType.length > 24 ? `${bar.eventType.slice(0, 23)}…` : bar.eventType))
    .append('title').text((bar) => bar.eventType);
  const parts = (bar: FunnelBar) => [['onward', bar.onward], ['stuck', bar.stuck], ['failed', bar.failed]] as const;
  row.each((bar, i, groups) => {
    let offset = label;
    for (const [kind, count] of parts(bar)) {
      if (count === 0) continue;
      d3.select(groups[i]!).append('rect').attr('class', `funnel-${kind}`).attr('x', offset).attr('y', 3).attr('height', rowHeight - 8).attr('width', Math.max(1, x(count)))
        .append('title').text(`${count} ${kind === 'onward' ? 'went on (or ended here)' : kind === 'stuck' ? 'stuck after it' : 'failed here'}`);
      offset += Math.max(1, x(count));
    }
    d3.select(groups[i]!).append('text').attr('class', 'count').attr('x', offset + 6).attr('y', 15).text(`${bar.reached}${bar.stuck + bar.failed > 0 ? ` (${bar.stuck} stuck, ${bar.failed} failed)` : ''}`);
  });
}

function drawDurations(container: HTMLElement, buckets: DurationBucket[], marks: [string, number | null][]): void {
  if (buckets.length === 0) return;
  const width = 520;
  const height = 200;
  const margin = { left: 40, right: 10, top: 14, bottom: 34 };
  const x = d3.scaleBand<number>().domain(buckets.map((b) => b.toMs)).range([margin.left, width - margin.right]).padding(0.12);
  const y = d3.scaleLinear().domain([0, d3.max(buckets, (b) => b.flows) ?? 1]).nice().range([height - margin.bottom, margin.top]);
  const svg = d3.select(container).append('svg').attr('width', width).attr('height', height).attr('class', 'durations');
  svg.append('g').selectAll('rect').data(buckets).join('rect').attr('class', 'duration-bar')
    .attr('x', (b) => x(b.toMs)!).attr('width', x.bandwidth()).attr('y', (b) => y(b.flows)).attr('height', (b) => y(0) - y(b.flows))
    .append('title').text((b) => `${b.flows} flows took ${shortDuration(b.fromMs)} to ${shortDuration(b.toMs)}`);
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  svg.append('g').attr('transform', `translate(0,${height - margin.bottom})`)
    .call(d3.axisBottom(x).tickValues(buckets.map((b) => b.toMs).filter((_, i) => i % every === 0)).tickFormat((ms) => `≤${shortDuration(ms)}`));
  svg.append('g').attr('transform', `translate(${margin.left},0)`).call(d3.axisLeft(y).ticks(4));
  // the quantiles, where they fall among the buckets (log scale within a bucket)
  for (const [i, [name, ms]] of marks.entries()) {
    if (ms === null) continue;
    const bucket = buckets.find((b) => ms <= b.toMs) ?? buckets.at(-1)!;
    const within = bucket.fromMs <= 0 ? 1 : Math.log2(ms / bucket.fromMs);
    const at = x(bucket.toMs)! + x.bandwidth() * Math.min(1, Math.max(0, within));
    svg.append('line').attr('class', 'quantile').attr('x1', at).attr('x2', at).attr('y1', margin.top - 4).attr('y2', height - margin.bottom);
    svg.append('text').attr('class', 'quantile-label').attr('x', at + 3).attr('y', margin.top + 4 + i * 12).text(name); // apart when they fall together
  }
}

/** The document needs the token: fetched with it, then saved from memory. */
async function downloadAsyncApi(): Promise<void> {
  const response = await fetch('/api/catalog/asyncapi', { headers: authHeaders() });
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  const link = el('a', { href: url });
  link.download = 'choreography.asyncapi.json';
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
