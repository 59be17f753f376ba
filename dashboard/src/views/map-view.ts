/**
 * The choreography map, the landing view: services and event types laid out left to right
 * (model/map-model.ts), produce and consume edges with their rate and the wait in Kafka, events moving
 * along the edges as the live feed reports them, and badges where flows are stuck. A click on a node or
 * an edge opens its details and the latest flows through it. D3 draws and animates; what is drawn comes
 * from the layout alone, and every name is set as text.
 */
import * as d3 from 'd3';
import type { CatalogResponse, FlowStatsResponse, FlowsResponse, LiveTraffic, ModelResponse } from '../../../collector/src/api/types.ts';
import { getJson, query } from '../api-client.ts';
import { el, viewHref } from '../dom.ts';
import { choreographyMap, shortDuration, shortRate, type ChoreographyMap, type MapEdge, type MapNode, eventNodeId, serviceNodeId } from '../model/map-model.ts';
import { liveRates } from '../model/live-rates.ts';

/** Stuck badges count flows late or stalled in the last day (the alert book gives up on a flow stalled longer). */
const STUCK_WINDOW_MS = 86_400_000;
/** Dots in flight at most: past it new traffic moves the rate labels, not more dots. */
const MAX_DOTS = 160;
const DOT_MS = 900;

type Selected = { kind: 'node'; id: string } | { kind: 'edge'; id: string } | null;

export class MapView {
  readonly element: HTMLElement;
  readonly #svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  readonly #zoomLayer: d3.Selection<SVGGElement, unknown, null, undefined>;
  readonly #details: HTMLElement;
  readonly #status: HTMLElement;
  readonly #rates = liveRates(60_000);
  #map: ChoreographyMap | null = null;
  #catalog: CatalogResponse | null = null;
  #selected: Selected = null;
  #dots = 0;
  #fitted = false;
  #reloading: Promise<void> | null = null;
  #reloadAgain = false;
  #timers: number[] = [];
  #zoom: d3.ZoomBehavior<SVGSVGElement, unknown>;

  constructor() {
    this.#status = el('span', { className: 'muted', dataset: { testid: 'map-status' } }, 'loading…');
    this.#details = el('aside', { className: 'details', dataset: { testid: 'map-details' } },
      el('p', { className: 'muted' }, 'Click a service, an event or an edge for its details and the flows through it.'));
    const canvas = el('div', { className: 'map-canvas' });
    this.element = el('section', { className: 'map-view' },
      el('div', { className: 'view-head' }, el('h1', {}, 'Choreography'), this.#status),
      el('div', { className: 'map-body' }, canvas, this.#details));
    this.#svg = d3.select(canvas).append('svg').attr('class', 'map').attr('data-testid', 'map');
    const defs = this.#svg.append('defs');
    for (const kind of ['produce', 'consume']) {
      defs.append('marker').attr('id', `arrow-${kind}`).attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
        .attr('markerWidth', 7).attr('markerHeight', 7).attr('orient', 'auto-start-reverse')
        .append('path').attr('d', 'M0,0 L10,5 L0,10 z').attr('class', `arrowhead ${kind}`);
    }
    this.#zoomLayer = this.#svg.append('g').attr('class', 'zoom-layer');
    this.#zoomLayer.append('g').attr('class', 'edges');
    this.#zoomLayer.append('g').attr('class', 'edge-labels');
    this.#zoomLayer.append('g').attr('class', 'nodes');
    this.#zoomLayer.append('g').attr('class', 'dots');
    this.#zoom = d3.zoom<SVGSVGElement, unknown>().scaleExtent([0.2, 3]).on('zoom', (event: d3.D3ZoomEvent<SVGSVGElement, unknown>) => {
      this.#zoomLayer.attr('transform', event.transform.toString());
    });
    this.#svg.call(this.#zoom).on('dblclick.zoom', null);
    this.#svg.on('click', (event: MouseEvent) => {
      if (event.target === this.#svg.node()) this.#select(null);
    });
  }

  start(): void {
    void this.reload();
    // the catalogue's rates and the stuck counts move without a new event type: read again now and then
    this.#timers.push(window.setInterval(() => void this.reload(), 15_000));
    this.#timers.push(window.setInterval(() => this.#drawRates(), 2_000));
  }

  stop(): void {
    for (const timer of this.#timers) window.clearInterval(timer);
    this.#timers = [];
  }

  /** Reads the model, the catalogue and the stuck counts, and redraws; calls while one runs make one more. */
  reload(): Promise<void> {
    if (this.#reloading !== null) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = this.#load().finally(() => {
      this.#reloading = null;
      if (this.#reloadAgain) {
        this.#reloadAgain = false;
        void this.reload();
      }
    });
    return this.#reloading;
  }

  /** A live event: traffic moves dots and rates; flows with event types the map lacks, or changed states, read the API again. */
  live(event: string, data: unknown): void {
    if (event === 'traffic') {
      const traffic = (data as { traffic: LiveTraffic[] }).traffic;
      let unknown = false;
      for (const item of traffic) {
        const edges = this.#edgesOf(item);
        if (edges.length === 0) unknown = true;
        for (const edge of edges) {
          this.#rates.add(edge.id, item.spans, Date.now());
          this.#flow(edge, item.spans);
        }
      }
      if (unknown) this.#reloadSoon();
    } else if (event === 'flows' || event === 'resync') {
      this.#reloadSoon();
    }
  }

  #reloadTimer: number | null = null;
  #reloadSoon(): void {
    if (this.#reloadTimer !== null) return;
    this.#reloadTimer = window.setTimeout(() => {
      this.#reloadTimer = null;
      void this.reload();
    }, 1_000);
  }

  async #load(): Promise<void> {
    try {
      const endMs = Date.now();
      const [model, catalog, stats] = await Promise.all([
        getJson<ModelResponse>('/api/model'),
        getJson<CatalogResponse>('/api/catalog'),
        getJson<FlowStatsResponse>(`/api/stats/flows${query({ start: endMs - STUCK_WINDOW_MS, end: endMs })}`),
      ]);
      const stuckAfter = new Map(stats.funnel.filter((step) => step.stuck > 0).map((step) => [step.eventType, step.stuck]));
      this.#catalog = catalog;
      this.#map = choreographyMap({ model, catalog, stuckAfter });
      this.#draw(this.#map);
      const stuck = [...stuckAfter.values()].reduce((sum, n) => sum + n, 0);
      this.#status.textContent = this.#map.nodes.length === 0
        ? 'No events yet: send spans to the collector\'s /v1/traces and the choreography appears here.'
        : `${catalog.events.length} event types · ${this.#map.nodes.filter((n) => n.kind === 'service').length} services · ${stuck} flows stuck · updated ${new Date(endMs).toLocaleTimeString()}`;
    } catch (error) {
      this.#status.textContent = `Could not read the collector: ${(error as Error).message}`;
    }
  }

  #draw(map: ChoreographyMap): void {
    const nodesById = new Map(map.nodes.map((node) => [node.id, node]));
    const edges = this.#zoomLayer.select<SVGGElement>('g.edges').selectAll<SVGPathElement, MapEdge>('path.edge').data(map.edges, (edge) => edge.id);
    edges.exit().remove();
    edges.enter().append('path')
      .attr('class', (edge) => `edge ${edge.kind}`)
      .attr('data-edge', (edge) => edge.id)
      .attr('marker-end', (edge) => `url(#arrow-${edge.kind})`)
      .on('click', (event: MouseEvent, edge) => {
        event.stopPropagation();
        this.#select({ kind: 'edge', id: edge.id });
      })
      .merge(edges)
      .transition().duration(this.#fitted ? 400 : 0)
      .attr('d', (edge) => edgePath(nodesById.get(edge.from)!, nodesById.get(edge.to)!));

    const labels = this.#zoomLayer.select<SVGGElement>('g.edge-labels').selectAll<SVGTextElement, MapEdge>('text.edge-label').data(map.edges, (edge) => edge.id);
    labels.exit().remove();
    labels.enter().append('text').attr('class', 'edge-label').attr('text-anchor', 'middle')
      .merge(labels)
      .attr('data-x', (edge) => labelPoint(nodesById.get(edge.from)!, nodesById.get(edge.to)!).x)
      .attr('y', (edge) => labelPoint(nodesById.get(edge.from)!, nodesById.get(edge.to)!).y);
    this.#drawRates();

    const nodes = this.#zoomLayer.select<SVGGElement>('g.nodes').selectAll<SVGGElement, MapNode>('g.node').data(map.nodes, (node) => node.id);
    nodes.exit().remove();
    const entered = nodes.enter().append('g')
      .attr('class', (node) => `node ${node.kind} ${node.band}`)
      .attr('data-node', (node) => node.id)
      .attr('transform', (node) => `translate(${node.x},${node.y})`)
      .on('click', (event: MouseEvent, node) => {
        event.stopPropagation();
        this.#select({ kind: 'node', id: node.id });
      });
    entered.append('rect').attr('class', 'box');
    entered.append('text').attr('class', 'label').attr('text-anchor', 'middle');
    entered.append('text').attr('class', 'detail').attr('text-anchor', 'middle');
    const badge = entered.append('g').attr('class', 'badge');
    badge.append('rect').attr('rx', 9).attr('height', 18);
    badge.append('text').attr('text-anchor', 'middle').attr('y', 13);
    const all = entered.merge(nodes);
    all.classed('terminal', (node) => node.terminal !== null).classed('stuck', (node) => node.stuck > 0);
    all.transition().duration(this.#fitted ? 400 : 0).attr('transform', (node) => `translate(${node.x},${node.y})`);
    all.select<SVGRectElement>('rect.box')
      .attr('x', (node) => -node.width / 2).attr('y', (node) => -node.height / 2)
      .attr('width', (node) => node.width).attr('height', (node) => node.height)
      .attr('rx', (node) => (node.kind === 'event' ? node.height / 2 : 6));
    all.select<SVGTextElement>('text.label')
      .attr('y', (node) => (node.detail === null ? 4 : -3))
      .text((node) => node.label);
    all.select<SVGTextElement>('text.detail')
      .attr('y', 13)
      .text((node) => node.detail ?? (node.kind === 'event' ? shortRate(node.ratePerSecond) : ''))
      .attr('y', (node) => (node.detail === null ? node.height / 2 + 14 : 13));
    const badges = all.select<SVGGElement>('g.badge')
      .attr('display', (node) => (node.stuck > 0 ? null : 'none'))
      .attr('transform', (node) => `translate(${node.width / 2 - 4},${-node.height / 2 - 9})`);
    badges.select('text').text((node) => `${node.stuck} stuck`);
    badges.select('rect').attr('x', (node) => -(String(node.stuck).length * 7 + 44) / 2).attr('width', (node) => String(node.stuck).length * 7 + 44);
    badges.select('text').attr('x', 0);

    if (!this.#fitted && map.nodes.length > 0) {
      this.#fit(map);
      this.#fitted = true;
    }
    if (this.#selected !== null) this.#showDetails(this.#selected);
  }

  /** The whole map when it fits at a readable size; else readable from its start, the rest a drag away. */
  #fit(map: ChoreographyMap): void {
    const svg = this.#svg.node()!;
    const width = svg.clientWidth || 900;
    const height = svg.clientHeight || 560;
    const scale = Math.min(1.4, Math.max(0.85, Math.min(width / map.width, height / map.height)));
    const x = map.width * scale <= width ? (width - map.width * scale) / 2 : 0;
    const transform = d3.zoomIdentity.translate(x, Math.max(8, (height - map.height * scale) / 2)).scale(scale);
    this.#svg.call(this.#zoom.transform, transform);
  }

  /** Two short lines: the rate along it (live when traffic was seen, else as the catalogue says), then its latency. */
  #edgeLabel(edge: MapEdge): string[] {
    const live = this.#rates.perSecond(edge.id, Date.now());
    const rate = shortRate(live > 0 ? live : edge.ratePerSecond);
    const latency = edge.latency === null || edge.latency.count === 0 ? ''
      : `${edge.kind === 'consume' ? 'wait ' : ''}${shortDuration(edge.latency.p50Ms)} · p99 ${shortDuration(edge.latency.p99Ms)}`;
    return [rate, latency].filter((line) => line !== '');
  }

  #drawRates(): void {
    this.#zoomLayer.select('g.edge-labels').selectAll<SVGTextElement, MapEdge>('text.edge-label').each((edge, i, texts) => {
      const text = d3.select(texts[i]!);
      const lines = this.#edgeLabel(edge);
      text.selectAll('tspan').data(lines).join('tspan')
        .attr('x', text.attr('data-x'))
        .attr('dy', (_, line) => (line === 0 ? `${-(lines.length - 1) * 1.15}em` : '1.15em'))
        .text((line) => line);
    });
  }

  /** The edges a piece of live traffic moved along: a send, from each node sending that event as that service; a handling, into that group. */
  #edgesOf(item: LiveTraffic): MapEdge[] {
    if (this.#map === null) return [];
    if (item.role === 'consumer') {
      const to = serviceNodeId(item.service, item.consumerGroup);
      return this.#map.edges.filter((edge) => edge.kind === 'consume' && edge.from === eventNodeId(item.eventType) && edge.to === to);
    }
    return this.#map.edges.filter((edge) => edge.kind === 'produce' && edge.to === eventNodeId(item.eventType) && edge.service === item.service);
  }

  /** Dots moving along the edge: one per span, three at most per report, none past MAX_DOTS in flight. */
  #flow(edge: MapEdge, spans: number): void {
    const path = this.#zoomLayer.select<SVGPathElement>(`path.edge[data-edge="${CSS.escape(edge.id)}"]`).node();
    if (path === null) return;
    const length = path.getTotalLength();
    for (let i = 0; i < Math.min(3, spans) && this.#dots < MAX_DOTS; i += 1) {
      this.#dots += 1;
      const start = path.getPointAtLength(0);
      this.#zoomLayer.select('g.dots').append('circle')
        .attr('class', `dot ${edge.kind}`).attr('r', 4).attr('cx', start.x).attr('cy', start.y)
        .transition().delay(i * 180).duration(DOT_MS).ease(d3.easeCubicInOut)
        .attrTween('cx', () => (t: number) => String(path.getPointAtLength(t * length).x))
        .attrTween('cy', () => (t: number) => String(path.getPointAtLength(t * length).y))
        .on('end interrupt', () => {
          this.#dots -= 1;
        })
        .remove();
    }
  }

  #select(selected: Selected): void {
    this.#selected = selected;
    this.#zoomLayer.selectAll<SVGGElement, MapNode>('g.node').classed('selected', (node) => selected?.kind === 'node' && selected.id === node.id);
    this.#zoomLayer.selectAll<SVGPathElement, MapEdge>('path.edge').classed('selected', (edge) => selected?.kind === 'edge' && selected.id === edge.id);
    this.#showDetails(selected);
  }

  #showDetails(selected: Selected): void {
    const map = this.#map;
    if (selected === null || map === null) {
      this.#details.replaceChildren(el('p', { className: 'muted' }, 'Click a service, an event or an edge for its details and the flows through it.'));
      return;
    }
    const rows: [string, string][] = [];
    let title = '';
    let subtitle = '';
    let flowsQuery: Record<string, string> = {};
    if (selected.kind === 'node') {
      const node = map.nodes.find((candidate) => candidate.id === selected.id);
      if (node === undefined) return this.#select(null);
      title = node.label;
      subtitle = node.kind === 'event' ? 'event type' : node.group === '' ? 'service (sends on its own)' : `service, consumer group ${node.group}`;
      if (node.kind === 'event') {
        const entry = this.#catalog?.events.find((event) => event.eventType === node.eventType);
        rows.push(['rate', shortRate(node.ratePerSecond) || 'none lately']);
        rows.push(['topics', entry?.topics.join(', ') || '–']);
        rows.push(['sent by', entry?.producers.map((p) => p.service).join(', ') || '–']);
        rows.push(['handled by', entry?.consumers.map((c) => (c.consumerGroup === null ? c.service : `${c.service} (${c.consumerGroup})`)).join(', ') || '–']);
        rows.push(['stuck after it', String(node.stuck)]);
        if (node.terminal !== null) rows.push(['ends a flow', node.terminal]);
        rows.push(['attributes', entry?.attributeKeys.join(', ') || '–']);
        flowsQuery = { eventType: node.eventType! };
      } else {
        const handled = map.edges.filter((edge) => edge.to === node.id).map((edge) => edge.eventType);
        const sent = map.edges.filter((edge) => edge.from === node.id).map((edge) => edge.eventType);
        rows.push(['handles', handled.join(', ') || '–'], ['sends', sent.join(', ') || '–']);
        flowsQuery = { service: node.service! };
      }
    } else {
      const edge = map.edges.find((candidate) => candidate.id === selected.id);
      if (edge === undefined) return this.#select(null);
      title = edge.kind === 'consume' ? `${edge.service} handles ${edge.eventType}` : `${edge.service} sends ${edge.eventType}`;
      subtitle = edge.kind === 'consume' ? `consumer group ${edge.group || '(none named)'}` : edge.after === null ? 'on its own' : `after handling ${edge.after}`;
      const live = this.#rates.perSecond(edge.id, Date.now());
      rows.push(['rate (last minute)', shortRate(live) || 'none seen here']);
      if (edge.latency !== null) {
        const what = edge.kind === 'consume' ? 'wait in Kafka' : `time from ${edge.after} to ${edge.eventType}`;
        rows.push([what, `p50 ${shortDuration(edge.latency.p50Ms)} · p90 ${shortDuration(edge.latency.p90Ms)} · p99 ${shortDuration(edge.latency.p99Ms)} (${edge.latency.count} seen)`]);
      }
      flowsQuery = { eventType: edge.eventType, service: edge.service };
    }
    const flows = el('ul', { className: 'flow-list', dataset: { testid: 'details-flows' } }, el('li', { className: 'muted' }, 'reading the latest flows…'));
    this.#details.replaceChildren(
      el('h2', {}, title),
      el('p', { className: 'muted' }, subtitle),
      el('dl', {}, ...rows.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, value)])),
      el('h3', {}, 'Latest flows through it'),
      flows,
    );
    void getJson<FlowsResponse>(`/api/flows${query({ ...flowsQuery, limit: 15 })}`).then((answer) => {
      if (this.#selected !== selected) return;
      flows.replaceChildren(...(answer.flows.length === 0 ? [el('li', { className: 'muted' }, 'none stored')] : answer.flows.map((flow) =>
        el('li', {},
          el('a', { href: viewHref('flows', flow.flowId) }, flow.businessKeys[0] ?? flow.flowId.slice(0, 12)),
          el('span', { className: `state ${flow.state}` }, flow.state),
          el('span', { className: 'muted' }, ` ${flow.eventTypes.length} events · ${shortDuration(flow.durationMs)}`)))));
    }, (error: Error) => flows.replaceChildren(el('li', { className: 'muted' }, `could not read flows: ${error.message}`)));
  }
}

/** Where an edge's label sits: above the middle of its span between the two boxes. */
function labelPoint(from: MapNode, to: MapNode): { x: number; y: number } {
  return { x: (from.x + from.width / 2 + to.x - to.width / 2) / 2, y: (from.y + to.y) / 2 - 7 };
}

/** From the source's right side to the target's left; a backward edge arcs below both. */
function edgePath(from: MapNode, to: MapNode): string {
  const x1 = from.x + from.width / 2;
  const y1 = from.y;
  const x2 = to.x - to.width / 2 - 2;
  const y2 = to.y;
  if (x2 >= x1) {
    const bend = Math.max(24, (x2 - x1) / 2);
    return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
  }
  const below = Math.max(from.y + from.height / 2, to.y + to.height / 2) + 40;
  return `M${x1},${y1} C${x1 + 60},${below} ${x2 - 60},${below} ${x2},${y2}`;
}
