/**
 * One flow (`#/flows/<id>`): where it stands (its state, and when it is stuck what it waits for, in
 * words, and when it should complete), then its timeline (model/flow-timeline.ts): a swimlane per
 * service, a bar per span coloured by trace, the wait in Kafka hatched apart from the handling, each
 * delivery an arrow labelled with how it was joined, retries, duplicates, new traces and clock skew marked.
 * Times read as offsets from the flow's start; wheel or drag zooms and pans in time, for a flow of
 * milliseconds or of hours. A click on a bar shows the span's attributes, as text. It reads the flow again
 * when the live feed says it changed; a flow merged into another follows it.
 */
import * as d3 from 'd3';
import type { FlowResponse } from '../../../collector/src/api/types.ts';
import { ApiError, getJson } from '../api-client.ts';
import { el, viewHref } from '../dom.ts';
import { flowGraph } from '../model/flow-graph.ts';
import { anomalyLines, flowTimeline, type FlowTimeline, type TimelineHop, type TimelineSpan } from '../model/flow-timeline.ts';
import type { ChoreographyMap } from '../model/map-model.ts';
import { counted, offsetLabel, shortDuration } from '../model/format.ts';

const GUTTER = 150;
const ROW = 30;
const AXIS = 30;
const BAR = 12;
/** A flow's own graph with more nodes than this is not drawn (it would be unreadable small, and slow to lay out). */
const MAX_GRAPH_NODES = 80;
/** Pixels a bar's label needs before the next bar of its row to be drawn. */
const MIN_LABEL_ROOM = 36;
/** Bar colours by trace, in order of appearance: a new colour where a new trace begins. */
const TRACE_COLOURS = ['#9db8f2', '#a8dcc4', '#f2c894', '#d3b5f0', '#f2a8b8', '#b8e0ee', '#e0d79a', '#c4c4c4'];

export class FlowView {
  readonly element: HTMLElement;
  readonly #head: HTMLElement;
  readonly #details: HTMLElement;
  readonly #graph: HTMLElement;
  readonly #canvas: HTMLElement;
  #flowId: string;
  #timeline: FlowTimeline | null = null;
  #x: d3.ScaleLinear<number, number> | null = null;
  #reloadTimer: number | null = null;

  constructor(flowId: string) {
    this.#flowId = flowId;
    this.#head = el('div', { className: 'flow-head', dataset: { testid: 'flow-head' } }, el('p', { className: 'muted' }, 'reading the flow…'));
    this.#canvas = el('div', { className: 'timeline-canvas', dataset: { testid: 'timeline' } });
    this.#graph = el('div', { className: 'flow-graph', dataset: { testid: 'flow-graph' } });
    this.#details = el('div', { dataset: { testid: 'span-details' } },
      el('p', { className: 'muted' }, 'Click a bar for its span: attributes, events, links.'));
    this.element = el('section', { className: 'flow-view' }, this.#head,
      el('div', { className: 'flow-body' }, el('div', { className: 'flow-main' }, this.#canvas, this.#graph), el('aside', { className: 'details' }, this.#details)));
  }

  start(): void {
    void this.#load();
  }

  stop(): void {
    if (this.#reloadTimer !== null) window.clearTimeout(this.#reloadTimer);
  }

  /** The flow changed (new spans, a new state) or was merged into another: read it again, within a second. */
  live(event: string, data: unknown): void {
    const concerns = (event === 'flows' && (data as { flows: { flowId: string }[] }).flows.some((flow) => flow.flowId === this.#flowId))
      || (event === 'removed' && (data as { removed: string[] }).removed.includes(this.#flowId))
      || event === 'resync';
    if (!concerns || this.#reloadTimer !== null) return;
    this.#reloadTimer = window.setTimeout(() => {
      this.#reloadTimer = null;
      void this.#load();
    }, 500);
  }

  async #load(): Promise<void> {
    let response: FlowResponse;
    try {
      response = await getJson<FlowResponse>(`/api/flows/${encodeURIComponent(this.#flowId)}`);
    } catch (error) {
      const notFound = error instanceof ApiError && error.status === 404;
      this.#head.replaceChildren(el('h1', {}, notFound ? 'No such flow' : 'Could not read the flow'),
        el('p', {}, notFound ? 'No flow has this id (it may have gone with the retention time).' : (error as Error).message));
      return;
    }
    if (response.flow.flowId !== this.#flowId) {
      // merged into another: its id answers the survivor, whose address this becomes
      this.#flowId = response.flow.flowId;
      history.replaceState(null, '', viewHref('flows', this.#flowId));
    }
    this.#showHead(response);
    this.#timeline = flowTimeline(response);
    this.#drawTimeline(this.#timeline);
    drawFlowGraph(this.#graph, flowGraph(response, MAX_GRAPH_NODES), Math.max(480, this.#canvas.clientWidth - 24));
  }

  #showHead(response: FlowResponse): void {
    const flow = response.flow;
    const title = flow.businessKeys.length > 0 ? flow.businessKeys.join(', ') : flow.flowId;
    const lines: (HTMLElement | null)[] = [];
    if (flow.explanation !== null) lines.push(el('p', { className: `explanation ${flow.state}`, dataset: { testid: 'flow-explanation' } }, explained(flow.explanation)));
    if (flow.expectedCompletionMs !== null) {
      const inMs = flow.expectedCompletionMs - Date.now();
      lines.push(el('p', { className: 'muted' }, `expected to complete around ${new Date(flow.expectedCompletionMs).toLocaleTimeString()}`
        + (inMs > 0 ? ` (in ${shortDuration(inMs)})` : ` (${shortDuration(-inMs)} ago)`)));
    }
    const facts = [
      counted(flow.services.length, 'service'), counted(flow.eventTypes.length, 'event type'), counted(flow.spanCount, 'span'),
      counted(flow.traceCount, 'trace'), `${shortDuration(flow.durationMs)} end to end`,
      `started ${new Date(flow.firstEventMs).toLocaleString()}`,
    ];
    if (flow.errorCount > 0) facts.push(counted(flow.errorCount, 'error'));
    const anomalies = anomalyLines(response.anomalies);
    this.#head.replaceChildren(
      el('div', { className: 'flow-title' }, el('h1', {}, title), el('span', { className: `state big ${flow.state}`, dataset: { testid: 'flow-state' } }, flow.state)),
      ...lines.filter((line): line is HTMLElement => line !== null),
      el('p', { className: 'muted' }, facts.join(' · ')),
      el('p', { className: 'muted mono' }, `flow ${flow.flowId}`),
      anomalies.length === 0 ? el('span', {}) : el('ul', { className: 'anomalies', dataset: { testid: 'flow-anomalies' } }, ...anomalies.map((line) => el('li', {}, line))),
    );
  }

  #drawTimeline(timeline: FlowTimeline): void {
    const width = Math.max(640, this.#canvas.clientWidth || 900);
    const height = AXIS + timeline.rows * ROW + 8;
    // over offsets from the flow's start, so the ticks fall on round offsets (+20 ms, +1 min), whatever the epoch
    const span = Math.max(1, timeline.endMs - timeline.startMs);
    const offsets = d3.scaleLinear().domain([-span * 0.02, span * 1.04]).range([GUTTER, width - 12]);
    const x0 = offsets.copy().domain(offsets.domain().map((offset) => offset + timeline.startMs));
    this.#x = x0;
    const svg = d3.select(this.#canvas).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
      .attr('class', 'timeline').attr('width', width).attr('height', height);
    svg.selectAll('*').remove();
    const defs = svg.append('defs');
    defs.append('pattern').attr('id', 'kafka-wait').attr('patternUnits', 'userSpaceOnUse').attr('width', 6).attr('height', 6)
      .attr('patternTransform', 'rotate(45)').append('rect').attr('width', 2).attr('height', 6).attr('class', 'hatch');
    defs.append('marker').attr('id', 'hop-arrow').attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
      .attr('markerWidth', 6).attr('markerHeight', 6).attr('orient', 'auto-start-reverse').append('path').attr('d', 'M0,0 L10,5 L0,10 z').attr('class', 'hop-head');
    defs.append('clipPath').attr('id', 'plot-clip').append('rect').attr('x', GUTTER).attr('y', 0).attr('width', width - GUTTER).attr('height', height);

    const rowY = (s: TimelineSpan) => AXIS + (timeline.lanes[s.lane]!.firstRow + s.row) * ROW;
    const lanes = svg.append('g').attr('class', 'lanes');
    for (const lane of timeline.lanes) {
      const y = AXIS + lane.firstRow * ROW;
      lanes.append('rect').attr('class', `lane ${lane.index % 2 === 0 ? 'even' : 'odd'}`).attr('x', 0).attr('y', y).attr('width', width).attr('height', lane.rows * ROW);
      lanes.append('text').attr('class', 'lane-name').attr('data-lane', lane.service).attr('x', 10).attr('y', y + ROW / 2 + 4).text(shortened(lane.service, 20))
        .append('title').text(lane.service);
    }
    const axis = svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${AXIS - 6})`);
    const plot = svg.append('g').attr('clip-path', 'url(#plot-clip)');
    const waits = plot.append('g').attr('class', 'waits');
    const bars = plot.append('g').attr('class', 'bars');
    const hopsLayer = plot.append('g').attr('class', 'hops');
    const labels = plot.append('g').attr('class', 'bar-labels');
    const hopLabels = plot.append('g').attr('class', 'hop-labels');

    const deliveries = timeline.hops.filter((hop) => hop.kind === 'delivery' || (hop.from !== null && hop.from.lane !== hop.to.lane));
    const render = (x: d3.ScaleLinear<number, number>) => {
      const relative = x.copy().domain(x.domain().map((ms) => ms - timeline.startMs));
      axis.call(d3.axisTop<number>(relative).ticks(Math.max(3, Math.floor((width - GUTTER) / 110))).tickFormat((t) => offsetLabel(t)));
      waits.selectAll<SVGRectElement, TimelineHop>('rect.wait').data(deliveries.filter((hop) => hop.wait !== null), (hop) => hop.key).join('rect')
        .attr('class', 'wait').attr('data-hop', (hop) => hop.key)
        .attr('x', (hop) => x(hop.wait!.fromMs)).attr('width', (hop) => Math.max(1, x(hop.wait!.toMs) - x(hop.wait!.fromMs)))
        .attr('y', (hop) => rowY(hop.to) + ROW - BAR - 4).attr('height', BAR);
      bars.selectAll<SVGRectElement, TimelineSpan>('rect.bar').data(timeline.spans, (s) => s.key).join((enter) => enter.append('rect')
        .attr('class', (s) => `bar ${s.role}${s.error ? ' error' : ''}`).attr('data-span', (s) => s.key)
        .attr('height', BAR).attr('rx', 2).attr('fill', (s) => TRACE_COLOURS[s.trace % TRACE_COLOURS.length]!)
        .on('click', (_event, s) => this.#showSpan(s)))
        .attr('x', (s) => x(s.span.startTimeMs)).attr('width', (s) => Math.max(2, x(s.span.endTimeMs) - x(s.span.startTimeMs)))
        .attr('y', (s) => rowY(s) + ROW - BAR - 4);
      // labels only where they have room and can be seen: a flow of thousands of spans draws its bars, and
      // their names as a zoom makes room for them
      const right = width - 12;
      const roomy = timeline.spans.filter((s) => {
        const from = Math.max(GUTTER, x(s.span.startTimeMs));
        const to = Math.min(right, s.nextStartMs === null ? right : x(s.nextStartMs));
        return to - from >= MIN_LABEL_ROOM && x(s.span.endTimeMs) >= GUTTER;
      });
      labels.selectAll<SVGTextElement, TimelineSpan>('text.bar-label').data(roomy, (s) => s.key).join('text').attr('class', 'bar-label')
        .attr('y', (s) => rowY(s) + 11).text((s) => barLabel(s))
        // from the bar's start, moved left as far as it takes to end inside the plot (a late bar's name is not cut off)
        .attr('x', function (s) { return Math.max(GUTTER + 2, Math.min(x(s.span.startTimeMs), right - this.getComputedTextLength())); });
      hopsLayer.selectAll<SVGPathElement, TimelineHop>('path.hop').data(deliveries, (h) => h.key).join((enter) => enter.append('path')
        .attr('class', (h) => `hop${h.clockSkew ? ' skew' : ''}${h.newTrace ? ' new-trace' : ''}`).attr('data-hop', (h) => h.key).attr('marker-end', 'url(#hop-arrow)'))
        .attr('d', (h) => hopPath(h, x, rowY));
      // on the hatched wait, just before the consumer's bar (the bar's own label stays above it); a flagged hop always says so
      const said = deliveries.filter((h) => h.clockSkew || h.from === null
        || (hopEnd(h, x) >= GUTTER && hopEnd(h, x) <= right && hopEnd(h, x) - x(h.from.span.endTimeMs) >= MIN_LABEL_ROOM * 2));
      hopLabels.selectAll<SVGTextElement, TimelineHop>('text.hop-label').data(said, (h) => h.key).join('text')
        .attr('class', (h) => `hop-label${h.clockSkew ? ' skew' : ''}`).attr('data-hop', (h) => h.key).attr('text-anchor', 'end')
        .attr('x', (h) => hopEnd(h, x) - 4).attr('y', (h) => rowY(h.to) + ROW - BAR / 2).text((h) => hopLabel(h));
    };
    render(x0);
    const zoom = d3.zoom<SVGSVGElement, null>().scaleExtent([1, 1e6]).translateExtent([[GUTTER, 0], [width, height]])
      .extent([[GUTTER, 0], [width, height]])
      .on('zoom', (event: d3.D3ZoomEvent<SVGSVGElement, null>) => {
        this.#x = event.transform.rescaleX(x0);
        render(this.#x);
      });
    svg.call(zoom).on('dblclick.zoom', null);
    this.#canvas.querySelector('.trace-legend')?.remove();
    this.#canvas.append(el('p', { className: 'trace-legend muted' },
      'Hatched: waiting in Kafka, from the send to the handling. Arrows: deliveries, labelled with how they were joined (by parent, link, Kafka message or business key); dashed where a new trace began. Bars by trace: ',
      ...timeline.traces.flatMap((traceId, i) => [
      el('span', { className: 'swatch', dataset: { trace: String(i) } }), ` trace ${i + 1} `, el('span', { className: 'mono' }, `${traceId.slice(0, 8)}…  `)])));
    for (const swatch of this.#canvas.querySelectorAll<HTMLElement>('.trace-legend .swatch')) {
      swatch.style.background = TRACE_COLOURS[Number(swatch.dataset.trace) % TRACE_COLOURS.length]!;
    }
  }

  #showSpan(s: TimelineSpan): void {
    d3.select(this.#canvas).selectAll<SVGRectElement, TimelineSpan>('rect.bar').classed('selected', (other) => other.key === s.key);
    const span = s.span;
    const table = (attributes: Record<string, unknown>) => el('dl', { className: 'attributes' },
      ...Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)).flatMap(([key, value]) => [el('dt', {}, key), el('dd', {}, valueText(value))]));
    this.#details.replaceChildren(
      el('h2', {}, span.name),
      el('p', { className: 'muted' }, `${span.serviceName} · ${span.kind} · ${shortDuration(span.endTimeMs - span.startTimeMs)}`
        + ` · starts ${offsetLabel(span.startTimeMs - (this.#timeline?.startMs ?? span.startTimeMs))}`),
      el('dl', {},
        el('dt', {}, 'status'), el('dd', {}, span.status.message === '' ? span.status.code : `${span.status.code}: ${span.status.message}`),
        el('dt', {}, 'trace'), el('dd', { className: 'mono' }, span.traceId),
        el('dt', {}, 'span'), el('dd', { className: 'mono' }, span.spanId),
        el('dt', {}, 'business key'), el('dd', {}, span.businessKey ?? '–')),
      el('h3', {}, 'Attributes'), table(span.attributes),
      span.events.length === 0 ? el('span', {}) : el('h3', {}, 'Events'),
      ...span.events.map((event) => el('div', { className: 'span-event' }, el('p', {}, `${event.name} at ${offsetLabel(event.timeMs - span.startTimeMs)}`), table(event.attributes))),
      span.links.length === 0 ? el('span', {}) : el('h3', {}, 'Links'),
      ...span.links.map((link) => el('p', { className: 'mono' }, `${link.traceId}/${link.spanId}`)),
      el('h3', {}, 'Resource'), table(span.resource),
    );
  }
}

/** The flow's chain at a glance, under the timeline: event types and the services that sent and handled them. */
function drawFlowGraph(container: HTMLElement, graph: ChoreographyMap | { tooMany: number }, width: number): void {
  container.replaceChildren();
  if ('tooMany' in graph) {
    container.append(el('p', { className: 'muted' }, `Its chain has about ${graph.tooMany} services and event types: too many to draw small; the map shows them.`));
    return;
  }
  if (graph.nodes.length === 0) return;
  const scale = Math.min(1, width / graph.width);
  container.append(el('h3', {}, 'Its chain'));
  const svg = d3.select(container).append('svg').attr('width', graph.width * scale).attr('height', graph.height * scale + 4).attr('class', 'mini-map');
  const layer = svg.append('g').attr('transform', `scale(${scale})`);
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  layer.selectAll('path').data(graph.edges).join('path').attr('class', (edge) => `edge ${edge.kind}`).attr('d', (edge) => {
    const from = byId.get(edge.from)!;
    const to = byId.get(edge.to)!;
    const x1 = from.x + from.width / 2;
    const x2 = to.x - to.width / 2;
    return `M${x1},${from.y} C${(x1 + x2) / 2},${from.y} ${(x1 + x2) / 2},${to.y} ${x2},${to.y}`;
  });
  const node = layer.selectAll('g').data(graph.nodes).join('g').attr('class', (n) => `node ${n.kind} ${n.band}`).attr('transform', (n) => `translate(${n.x},${n.y})`);
  node.append('rect').attr('class', 'box').attr('x', (n) => -n.width / 2).attr('y', (n) => -n.height / 2).attr('width', (n) => n.width).attr('height', (n) => n.height)
    .attr('rx', (n) => (n.kind === 'event' ? n.height / 2 : 6));
  node.append('text').attr('class', 'label').attr('text-anchor', 'middle').attr('y', 4).text((n) => n.shortLabel);
  node.append('title').text((n) => n.label);
}

/** What a stuck flow waits for, as the API says it, with its times in this browser's clock rather than UTC. */
function explained(explanation: NonNullable<FlowResponse['flow']['explanation']>): string {
  // every time it names: since when, when a failure or a later handling happened
  return explanation.message.replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, (iso) => new Date(Date.parse(iso)).toLocaleTimeString());
}

function barLabel(s: TimelineSpan): string {
  const marks = [s.retryAttempt !== null ? `retry #${s.retryAttempt}` : '', s.duplicate ? 'duplicate' : '', s.error ? 'error' : ''].filter((m) => m !== '');
  return [shortened(s.label, 40), ...marks].join(' · ');
}

function hopLabel(hop: TimelineHop): string {
  const how = hop.joinedBy === null ? (hop.pending ? 'producer not arrived' : 'producer unknown') : `by ${hop.joinedBy}`;
  return [how, hop.newTrace ? 'new trace' : '', hop.clockSkew ? '⚠ clock skew: wait shown as 0' : ''].filter((part) => part !== '').join(' · ');
}

/** Where the arrow ends: the consumer's start. */
function hopEnd(hop: TimelineHop, x: d3.ScaleLinear<number, number>): number {
  return x(hop.to.span.startTimeMs);
}

/**
 * From the producer's end down (or up) to the consumer's start. Clocks that disagree would draw it
 * backwards: it is drawn straight across at the consumer's start instead, with no wait.
 */
function hopPath(hop: TimelineHop, x: d3.ScaleLinear<number, number>, rowY: (s: TimelineSpan) => number): string {
  const toX = hopEnd(hop, x);
  const toY = rowY(hop.to) + ROW - BAR / 2 - 4;
  if (hop.from === null) return `M${toX - 24},${toY - 14} L${toX},${toY}`;
  const fromY = rowY(hop.from) + ROW - BAR / 2 - 4;
  const fromX = hop.clockSkew ? toX : Math.min(x(hop.from.span.endTimeMs), toX);
  const middleY = (fromY + toY) / 2;
  return `M${fromX},${fromY} C${fromX},${middleY} ${toX},${middleY} ${toX},${toY}`;
}

function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function shortened(text: string, most: number): string {
  return text.length <= most ? text : `${text.slice(0, most - 1)}…`;
}
