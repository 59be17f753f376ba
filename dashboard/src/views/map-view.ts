/**
 * The choreography map, the landing view: services and event types laid out left to right
 * (model/map-model.ts), produce and consume edges with their rate and the wait in Kafka, events moving
 * along the edges as the live feed reports them, and badges where flows are stuck. A click on a node or
 * an edge opens its details and the latest flows through it. D3 draws and animates; what is drawn comes
 * from the layout alone, and every name is set as text.
 */
import * as d3 from 'd3';
import type { ApiWaitExplanation, CatalogResponse, FlowStatsResponse, FlowSummary, FlowsResponse, LiveTraffic, ModelResponse } from '../../../collector/src/api/types.ts';
import { getJson, query } from '../api-client.ts';
import { el, viewHref } from '../dom.ts';
import { shortDuration, shortRate } from '../model/format.ts';
import { choreographyMap, type ChoreographyMap, type MapEdge, type MapNode, eventNodeId, serviceNodeId } from '../model/map-model.ts';
import { liveRates } from '../model/live-rates.ts';
import { groupFigures, stuckGroups } from '../model/stuck-groups.ts';

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
  /** Nodes when the map was last fitted to the view; the user's own zoom or pan stops refitting. */
  #fittedNodes = 0;
  #userMoved = false;
  #reloading: Promise<void> | null = null;
  #reloadAgain = false;
  #timers: number[] = [];
  #zoom: d3.ZoomBehavior<SVGSVGElement, unknown>;

  constructor() {
    this.#status = el('span', { className: 'muted', dataset: { testid: 'map-status' } }, 'loading…');
    this.#details = el('aside', { className: 'details', dataset: { testid: 'map-details' } });
    const canvas = el('div', { className: 'map-canvas' }, legend());
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
    this.#zoomLayer.append('g').attr('class', 'bands');
    this.#zoomLayer.append('g').attr('class', 'edges');
    this.#zoomLayer.append('g').attr('class', 'nodes');
    // above the boxes: a label whose curve passes behind a box stays readable on its halo
    this.#zoomLayer.append('g').attr('class', 'edge-labels');
    this.#zoomLayer.append('g').attr('class', 'dots');
    this.#zoom = d3.zoom<SVGSVGElement, unknown>().scaleExtent([0.2, 3]).on('zoom', (event: d3.D3ZoomEvent<SVGSVGElement, unknown>) => {
      this.#zoomLayer.attr('transform', event.transform.toString());
      if (event.sourceEvent) this.#userMoved = true; // a wheel or a drag, not a fit
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
    if (this.#reloadTimer !== null) window.clearTimeout(this.#reloadTimer);
    this.#reloadTimer = null;
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

  /**
   * A live event: traffic moves dots and rates, and traffic on an edge the map lacks reads the API again
   * within a second; changed flows move the stuck counts, read again within five (a busy choreography
   * changes flows every round: the collector is asked at most that often, whatever the load).
   */
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
      if (unknown) this.#reloadWithin(1_000);
    } else if (event === 'flows' || event === 'removed' || event === 'alerts') {
      this.#reloadWithin(5_000);
    } else if (event === 'resync') {
      this.#reloadWithin(0);
    }
  }

  #reloadTimer: number | null = null;
  #reloadAtMs = Infinity;
  /** A reload within `ms`: an earlier one already planned stands, a later one is brought forward. */
  #reloadWithin(ms: number): void {
    const at = Date.now() + ms;
    if (this.#reloadTimer !== null && this.#reloadAtMs <= at) return;
    if (this.#reloadTimer !== null) window.clearTimeout(this.#reloadTimer);
    this.#reloadAtMs = at;
    this.#reloadTimer = window.setTimeout(() => {
      this.#reloadTimer = null;
      this.#reloadAtMs = Infinity;
      void this.reload();
    }, ms);
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
      const services = new Set(this.#map.nodes.filter((n) => n.kind === 'service').map((n) => n.service)).size;
      const groups = this.#map.nodes.filter((n) => n.kind === 'service' && n.group !== '').length;
      this.#status.textContent = this.#map.nodes.length === 0
        ? 'No events yet: send spans to the collector\'s /v1/traces and the choreography appears here.'
        : `${catalog.events.length} event types · ${services} services · ${groups} consumer groups · ${stuck} flows stuck (active in the last 24 h) · updated ${new Date(endMs).toLocaleTimeString()}`;
    } catch (error) {
      this.#status.textContent = `Could not read the collector: ${(error as Error).message}`;
    }
  }

  #draw(map: ChoreographyMap): void {
    const nodesById = new Map(map.nodes.map((node) => [node.id, node]));
    const ports = entryPorts(map);
    const pathOf = (edge: MapEdge) => edgePath(nodesById.get(edge.from)!, nodesById.get(edge.to)!, ports.get(edge.id) ?? 0);
    const duration = this.#fitted ? 400 : 0;

    const band = this.#zoomLayer.select<SVGGElement>('g.bands').selectAll<SVGGElement, NonNullable<ChoreographyMap['compensation']>>('g.band')
      .data(map.compensation === null ? [] : [map.compensation]);
    band.exit().remove();
    const bandEntered = band.enter().append('g').attr('class', 'band compensation');
    bandEntered.append('rect').attr('rx', 10);
    bandEntered.append('text').attr('class', 'band-title').text('Compensation');
    const bands = bandEntered.merge(band);
    bands.select('rect').attr('x', (b) => b.x).attr('y', (b) => b.y).attr('width', (b) => b.width).attr('height', (b) => b.height);
    bands.select('text').attr('x', (b) => b.x + 10).attr('y', (b) => b.y + 15);

    const edges = this.#zoomLayer.select<SVGGElement>('g.edges').selectAll<SVGPathElement, MapEdge>('path.edge').data(map.edges, (edge) => edge.id);
    edges.exit().remove();
    const enteredEdges = edges.enter().append('path')
      .attr('class', (edge) => `edge ${edge.kind}`)
      .attr('data-edge', (edge) => edge.id)
      .attr('marker-end', (edge) => `url(#arrow-${edge.kind})`)
      .on('click', (event: MouseEvent, edge) => {
        event.stopPropagation();
        this.#select({ kind: 'edge', id: edge.id });
      });
    enteredEdges.append('title');
    const allEdges = enteredEdges.merge(edges);
    allEdges.select('title').text((edge) => edgeTitle(edge));
    allEdges.attr('d', pathOf);

    const labels = this.#zoomLayer.select<SVGGElement>('g.edge-labels').selectAll<SVGTextElement, MapEdge>('text.edge-label').data(map.edges, (edge) => edge.id);
    labels.exit().remove();
    labels.enter().append('text').attr('class', 'edge-label').attr('text-anchor', 'middle')
      .merge(labels)
      .each((edge, i, texts) => {
        // the middle of the drawn curve: labels of edges fanning out of one node sit apart
        const path = this.#zoomLayer.select<SVGPathElement>(`path.edge[data-edge="${CSS.escape(edge.id)}"]`).node()!;
        const middle = path.getPointAtLength(path.getTotalLength() / 2);
        d3.select(texts[i]!).attr('data-x', middle.x).attr('y', middle.y - 5);
      });
    this.#drawRates();

    const nodes = this.#zoomLayer.select<SVGGElement>('g.nodes').selectAll<SVGGElement, MapNode>('g.node').data(map.nodes, (node) => node.id);
    nodes.exit().remove();
    const entered = nodes.enter().append('g')
      .attr('class', (node) => `node ${node.kind} ${node.band}`)
      .classed('new', this.#fitted) // arrived while the map was open: marked a moment
      .attr('data-node', (node) => node.id)
      .attr('transform', (node) => `translate(${node.x},${node.y})`)
      .on('click', (event: MouseEvent, node) => {
        event.stopPropagation();
        this.#select({ kind: 'node', id: node.id });
      });
    entered.append('title');
    entered.append('rect').attr('class', 'box');
    entered.append('text').attr('class', 'label').attr('text-anchor', 'middle');
    entered.append('text').attr('class', 'detail').attr('text-anchor', 'middle');
    const badge = entered.append('g').attr('class', 'badge');
    badge.append('rect').attr('rx', 9).attr('height', 18);
    badge.append('text').attr('text-anchor', 'middle').attr('y', 13);
    if (this.#fitted) window.setTimeout(() => entered.classed('new', false), 4_000);
    const all = entered.merge(nodes);
    all.classed('terminal', (node) => node.terminal !== null).classed('stuck', (node) => node.stuck > 0);
    all.select('title').text((node) => nodeTitle(node));
    all.transition().duration(duration).attr('transform', (node) => `translate(${node.x},${node.y})`);
    all.select<SVGRectElement>('rect.box')
      .attr('x', (node) => -node.width / 2).attr('y', (node) => -node.height / 2)
      .attr('width', (node) => node.width).attr('height', (node) => node.height)
      .attr('rx', (node) => (node.kind === 'event' ? node.height / 2 : 6));
    all.select<SVGTextElement>('text.label')
      .attr('y', (node) => (node.detail === null ? 4 : -3))
      .text((node) => node.shortLabel);
    all.select<SVGTextElement>('text.detail')
      .text((node) => node.detail ?? (node.kind === 'event' && node.ratePerSecond !== null ? `${shortRate(node.ratePerSecond)} sent` : ''))
      .attr('y', (node) => (node.detail === null ? node.height / 2 + 14 : 13));
    const badges = all.select<SVGGElement>('g.badge')
      .attr('display', (node) => (node.stuck > 0 ? null : 'none'))
      .attr('transform', (node) => `translate(${node.width / 2 - 4},${-node.height / 2 - 9})`);
    badges.select('text').text((node) => `${node.stuck} stuck`);
    badges.select('rect').attr('x', (node) => -(String(node.stuck).length * 7 + 44) / 2).attr('width', (node) => String(node.stuck).length * 7 + 44);
    badges.select('text').attr('x', 0);

    // fitted at first, and again as the choreography grows (a service seen for the first time), until the
    // user zooms or pans: a node placed outside the view would otherwise go unseen
    if (map.nodes.length > 0 && (!this.#fitted || (!this.#userMoved && map.nodes.length > this.#fittedNodes))) {
      this.#fit(map);
      this.#fitted = true;
      this.#fittedNodes = map.nodes.length;
    }
    this.#showDetails(this.#selected);
  }

  /** The whole map when it fits at a readable size; else readable from its start, the rest a drag away. */
  #fit(map: ChoreographyMap): void {
    const svg = this.#svg.node()!;
    const width = svg.clientWidth || 900;
    const height = svg.clientHeight || 560;
    // the whole choreography in view, unless that makes its labels too small to read (then zoom and pan)
    const scale = Math.min(1.4, Math.max(0.5, Math.min(width / map.width, height / map.height)));
    const x = map.width * scale <= width ? (width - map.width * scale) / 2 : 0;
    const transform = d3.zoomIdentity.translate(x, Math.max(8, (height - map.height * scale) / 2)).scale(scale);
    this.#svg.call(this.#zoom.transform, transform);
  }

  /** Short lines: the rate along it (live when traffic was seen, else as the catalogue says), then its latency's p50 and p99. */
  #edgeLabel(edge: MapEdge): string[] {
    const live = this.#rates.perSecond(edge.id, Date.now());
    const lines = [shortRate(live > 0 ? live : edge.ratePerSecond)];
    if (edge.latency !== null && edge.latency.count > 0) {
      lines.push(`${edge.kind === 'consume' ? 'wait ' : ''}p50 ${shortDuration(edge.latency.p50Ms)}`, `p99 ${shortDuration(edge.latency.p99Ms)}`);
    }
    if (edge.errorRate !== null && edge.errorRate > 0) lines.push(`${percent(edge.errorRate)} failed`);
    return lines.filter((line) => line !== '');
  }

  #drawRates(): void {
    this.#zoomLayer.select('g.edge-labels').selectAll<SVGTextElement, MapEdge>('text.edge-label').each((edge, i, texts) => {
      const text = d3.select(texts[i]!);
      const lines = this.#edgeLabel(edge);
      text.selectAll('tspan').data(lines).join('tspan')
        .attr('x', text.attr('data-x'))
        .attr('dy', (_, line) => (line === 0 ? `${-(lines.length - 1) * 1.1}em` : '1.1em'))
        .text((line) => line);
    });
    this.#separateLabels();
  }

  /**
   * Edges fanning out of one node put their labels close together: each label, top to bottom, moves to the
   * free place nearest its own (up or down) where it overlaps no label placed before it, no box and no badge.
   */
  #separateLabels(): void {
    const map = this.#map;
    if (map === null) return;
    type Box = { x: number; y: number; width: number; height: number };
    const obstacles: Box[] = map.nodes.flatMap((node) => [
      { x: node.x - node.width / 2, y: node.y - node.height / 2, width: node.width, height: node.height },
      ...(node.stuck > 0 ? [{ x: node.x + node.width / 2 - 30, y: node.y - node.height / 2 - 9, width: 56, height: 18 }] : []),
    ]);
    const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    const labels = this.#zoomLayer.selectAll<SVGTextElement, MapEdge>('text.edge-label').nodes()
      .map((text) => {
        text.removeAttribute('transform');
        const { x, y, width, height } = text.getBBox(); // an SVGRect's fields are getters: copied, not spread
        return { text, box: { x, y, width, height } };
      })
      .sort((a, b) => a.box.y - b.box.y);
    for (const { text, box } of labels) {
      // the free place nearest its own, above or below what is in the way
      const near = obstacles.filter((other) => box.x < other.x + other.width && other.x < box.x + box.width);
      const places = [box.y, ...near.flatMap((other) => [other.y + other.height + 1, other.y - box.height - 1])]
        .sort((a, b) => Math.abs(a - box.y) - Math.abs(b - box.y));
      const y = places.find((candidate) => !near.some((other) => overlaps({ ...box, y: candidate }, other))) ?? box.y;
      if (y !== box.y) text.setAttribute('transform', `translate(0,${y - box.y})`);
      obstacles.push({ x: box.x, y, width: box.width, height: box.height });
    }
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

  /** The panel: what was clicked, with its flows; with nothing clicked, the flows stuck now, by what they wait for. */
  #showDetails(selected: Selected): void {
    const map = this.#map;
    if (selected === null || map === null) return this.#showStuck();
    const rows: [string, string][] = [];
    let title = '';
    let subtitle = '';
    let attributes: string[] = [];
    let flowsQuery: Record<string, string> = {};
    if (selected.kind === 'node') {
      const node = map.nodes.find((candidate) => candidate.id === selected.id);
      if (node === undefined) return this.#select(null);
      title = node.label;
      if (node.kind === 'event') {
        subtitle = 'event type';
        const entry = this.#catalog?.events.find((event) => event.eventType === node.eventType);
        rows.push(['sent', shortRate(node.ratePerSecond) || 'none lately']);
        rows.push(['topics', entry?.topics.join(', ') || '–']);
        rows.push(['sent by', entry?.producers.map((p) => p.service).join(', ') || '–']);
        rows.push(['handled by', entry?.consumers.map((c) => (c.consumerGroup === null || c.consumerGroup === c.service ? c.service : `${c.service} (group ${c.consumerGroup})`)).join(', ') || '–']);
        rows.push(['stuck after it', String(node.stuck)]);
        if (node.terminal !== null) rows.push(['ends a flow', node.terminal]);
        attributes = entry?.attributeKeys ?? [];
        flowsQuery = { eventType: node.eventType! };
      } else {
        subtitle = node.group === '' ? 'service, sending on its own (a request, a timer)' : `service · consumer group: ${node.group}`;
        const handled = map.edges.filter((edge) => edge.to === node.id).map((edge) => edge.eventType);
        const sent = map.edges.filter((edge) => edge.from === node.id).map((edge) => edge.eventType);
        rows.push(['handles', handled.join(', ') || '–'], ['sends', sent.join(', ') || '–']);
        flowsQuery = { service: node.service! };
      }
    } else {
      const edge = map.edges.find((candidate) => candidate.id === selected.id);
      if (edge === undefined) return this.#select(null);
      title = edge.kind === 'consume' ? `${edge.service} handles ${edge.eventType}` : `${edge.service} sends ${edge.eventType}`;
      subtitle = edge.kind === 'consume' ? `consumer group: ${edge.group || '(none named)'}` : edge.after === null ? 'on its own' : `after handling ${edge.after}`;
      const live = this.#rates.perSecond(edge.id, Date.now());
      rows.push(['rate, last minute', shortRate(live) || 'none seen here']);
      const quantiles = (latency: NonNullable<MapEdge['latency']>) =>
        `p50 ${shortDuration(latency.p50Ms)} · p90 ${shortDuration(latency.p90Ms)} · p99 ${shortDuration(latency.p99Ms)} (${latency.count} seen)`;
      if (edge.latency !== null) rows.push([edge.kind === 'consume' ? 'wait in Kafka' : `${edge.after} to ${edge.eventType}`, quantiles(edge.latency)]);
      if (edge.handling !== null) rows.push(['handling', quantiles(edge.handling)]);
      if (edge.errorRate !== null) rows.push(['attempts failed', percent(edge.errorRate)]);
      flowsQuery = { eventType: edge.eventType, service: edge.service };
    }
    const flows = el('ul', { className: 'flow-list', dataset: { testid: 'details-flows' } }, el('li', { className: 'muted' }, 'reading the latest flows…'));
    const more = attributes.length === 0 ? [] : [el('details', {}, el('summary', {}, `${attributes.length} attribute keys seen`), el('p', { className: 'keys' }, attributes.join(', ')))];
    this.#details.replaceChildren(
      el('button', { className: 'link-button', type: 'button' }, '← stuck now'),
      el('h2', {}, title),
      el('p', { className: 'muted' }, subtitle),
      el('dl', {}, ...rows.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, value)])),
      el('h3', {}, 'Latest flows through it'),
      flows,
      ...more,
    );
    this.#details.querySelector('button')!.addEventListener('click', () => this.#select(null));
    void getJson<FlowsResponse>(`/api/flows${query({ ...flowsQuery, limit: 15 })}`).then((answer) => {
      if (this.#selected !== selected) return;
      flows.replaceChildren(...(answer.flows.length === 0 ? [el('li', { className: 'muted' }, 'none stored')] : answer.flows.map(flowItem)));
    }, (error: Error) => flows.replaceChildren(el('li', { className: 'muted' }, `could not read flows: ${error.message}`)));
  }

  /** Late and stalled flows, grouped by what they wait for, the biggest groups first. */
  #showStuck(): void {
    const list = el('div', { dataset: { testid: 'stuck-now' } }, el('p', { className: 'muted' }, 'reading…'));
    this.#details.replaceChildren(el('h2', {}, 'Stuck now'),
      el('p', { className: 'muted' }, 'Flows late or stalled, by what they wait for. Click the map for a node\'s or an edge\'s details.'), list);
    void Promise.all(['stalled', 'late'].map((state) => getJson<FlowsResponse>(`/api/flows${query({ state, limit: 200 })}`))).then((answers) => {
      if (this.#selected !== null) return;
      const groups = stuckGroups(answers.flatMap((answer) => answer.flows));
      if (groups.length === 0) return list.replaceChildren(el('p', {}, 'Nothing is stuck.'));
      const now = Date.now();
      const partial = { stalled: answers[0]!.nextCursor !== null, late: answers[1]!.nextCursor !== null };
      list.replaceChildren(...groups.slice(0, 12).map((group) => {
        const figures = groupFigures(group, partial, now, shortDuration);
        return el('section', { className: 'stuck-group' },
          el('p', { className: 'stuck-head' }, el('span', { className: 'count' }, figures.count), ` ${group.headline}`),
          el('p', { className: 'muted' }, figures.detail),
          el('ul', { className: 'flow-list' }, ...group.flows.slice(0, 5).map(flowItem)));
      }));
    }, (error: Error) => list.replaceChildren(el('p', { className: 'muted' }, `could not read flows: ${error.message}`)));
  }
}

/** A flow in a list: its business key (or id) linking to it, its state, and how long it has waited or taken. */
function flowItem(flow: FlowSummary): HTMLElement {
  const wait = flow.explanation !== null && flow.explanation.kind !== 'failure' ? flow.explanation as ApiWaitExplanation : null;
  const said = wait !== null
    ? ` for ${shortDuration(Date.now() - wait.sinceMs)}${wait.overdueMs > 0 ? `, ${shortDuration(wait.overdueMs)} overdue` : ''}`
    : ` · ${flow.eventTypes.length} events · ${shortDuration(flow.durationMs)}`;
  return el('li', {},
    el('a', { href: viewHref('flows', flow.flowId), title: flow.flowId }, flow.businessKeys[0] ?? flow.flowId.slice(0, 12)),
    el('span', { className: `state ${flow.state}` }, flow.state),
    el('span', { className: 'muted' }, said));
}

/** What the map's marks mean, over its corner. */
function legend(): HTMLElement {
  const item = (className: string, text: string) => el('span', { className: 'legend-item' }, el('span', { className: `swatch ${className}` }), text);
  return el('div', { className: 'legend', dataset: { testid: 'legend' } },
    item('event', 'event type'), item('service', 'service, as the consumer group handling an event'),
    item('produce', 'sends (p50/p99: from the event handled to this one)'), item('consume', 'handles (wait: time in Kafka)'),
    item('compensation', 'compensation'), item('stuck', 'flows late or stalled after it'));
}

/** Where each edge enters its target: spread along the target's left side when several arrive. */
function entryPorts(map: ChoreographyMap): Map<string, number> {
  const y = new Map(map.nodes.map((node) => [node.id, node.y]));
  const incoming = new Map<string, MapEdge[]>();
  for (const edge of map.edges) incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), edge]);
  const ports = new Map<string, number>();
  for (const edges of incoming.values()) {
    edges.sort((a, b) => y.get(a.from)! - y.get(b.from)!);
    edges.forEach((edge, i) => ports.set(edge.id, (i - (edges.length - 1) / 2) * 7));
  }
  return ports;
}

/** A share as a percentage: 0%, <0.1%, 2.5%, 40%. */
function percent(share: number): string {
  if (share === 0) return '0%';
  return share < 0.001 ? '<0.1%' : `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

function nodeTitle(node: MapNode): string {
  if (node.kind === 'event') return `event type ${node.label}${node.stuck > 0 ? ` · ${node.stuck} flows stuck after it` : ''}`;
  return node.group === '' ? `service ${node.label}, sending on its own` : `service ${node.label}, consumer group ${node.group}`;
}

function edgeTitle(edge: MapEdge): string {
  const latency = edge.latency === null ? '' : ` · p50 ${shortDuration(edge.latency.p50Ms)}, p99 ${shortDuration(edge.latency.p99Ms)}`;
  if (edge.kind === 'consume') {
    const handling = edge.handling === null ? '' : ` · handling p50 ${shortDuration(edge.handling.p50Ms)}, p99 ${shortDuration(edge.handling.p99Ms)}`;
    const failed = edge.errorRate === null ? '' : ` · ${percent(edge.errorRate)} of attempts failed`;
    return `${edge.service} (group ${edge.group || 'none named'}) handles ${edge.eventType}${latency && ` · wait in Kafka${latency}`}${handling}${failed}`;
  }
  return `${edge.service} sends ${edge.eventType}${edge.after === null ? '' : ` after handling ${edge.after}${latency}`}`;
}

/** From the source's right side to the target's left (at its entry port); a backward edge arcs below both. */
function edgePath(from: MapNode, to: MapNode, port: number): string {
  const x1 = from.x + from.width / 2;
  const y1 = from.y;
  const x2 = to.x - to.width / 2 - 2;
  const y2 = to.y + port;
  if (x2 >= x1) {
    const bend = Math.max(24, (x2 - x1) / 2);
    return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
  }
  const below = Math.max(from.y + from.height / 2, to.y + to.height / 2) + 40;
  return `M${x1},${y1} C${x1 + 60},${below} ${x2 - 60},${below} ${x2},${y2}`;
}
