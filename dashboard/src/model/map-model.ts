/**
 * The choreography map as data: the learned model (GET /api/model) and the event catalogue
 * (GET /api/catalog) turned into nodes and edges laid out left to right, before anything is drawn.
 *
 * Two kinds of node: event types, and services — a service as the consumer group that handles an event
 * (payment handling OrderCreated), or as an origin (order sending OrderCreated on an HTTP request). An
 * event's producer is drawn from the group whose handling sends it (the model's transitions say which
 * event it follows), so the chain reads order → OrderCreated → payment → PaymentAuthorized → inventory
 * and never loops back through one node per service. Events that lead only to a compensated end, and the
 * groups handling only those, are laid out in a band of their own below the main chain.
 *
 * Pure: no DOM. Text sizes are estimated from label lengths, so the layout is the same wherever it runs.
 */
import { graphlib, layout } from '@dagrejs/dagre';
import type { ApiCatalogEvent, ApiLatency, ApiModelStep, CatalogResponse, ModelResponse } from '../../../collector/src/api/types.ts';

export type MapNodeKind = 'event' | 'service';
export type MapBand = 'main' | 'compensation';

export interface MapNode {
  /** `event:<type>` or `service:<service>|<group>` (group '' for an origin). */
  id: string;
  kind: MapNodeKind;
  /** The event type, or the service's name: whole, for tooltips and details. */
  label: string;
  /** The label as drawn: long names (they come from spans) cut to MAX_LABEL characters. */
  shortLabel: string;
  /** The consumer group, when it is not named like its service; null otherwise. */
  detail: string | null;
  eventType: string | null;
  service: string | null;
  group: string | null;
  band: MapBand;
  /** Centre and size, in layout units (pixels at scale 1). */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Events of this type sent per second over the catalogue's window (events only). */
  ratePerSecond: number | null;
  /** Flows late or stalled waiting after this event (events only). */
  stuck: number;
  terminal: 'completed' | 'compensated' | null;
}

export interface MapEdge {
  id: string;
  kind: 'produce' | 'consume';
  from: string;
  to: string;
  eventType: string;
  service: string;
  /** The consumer group (consume edges); '' for producers. */
  group: string;
  /** Consume: the wait in Kafka (producer end → consumer start). Produce: from the event handled to this one sent. */
  latency: ApiLatency | null;
  /** Consume: how long a successful handling takes; null otherwise or not learned. */
  handling: ApiLatency | null;
  /** Consume: the share of deliveries to the group that failed; null when none was learned. */
  errorRate: number | null;
  /** The event this produce edge follows (null for an origin or a consume edge). */
  after: string | null;
  /** Events per second along the edge, as the catalogue and model last said. */
  ratePerSecond: number | null;
}

export interface ChoreographyMap {
  nodes: MapNode[];
  edges: MapEdge[];
  width: number;
  height: number;
  /** The box around the compensation band, to draw it as an area; null when there is none. */
  compensation: { x: number; y: number; width: number; height: number } | null;
}

export interface MapInput {
  model: ModelResponse;
  catalog: CatalogResponse;
  /** Flows late or stalled, by the event they wait after (GET /api/stats/flows, funnel). */
  stuckAfter: ReadonlyMap<string, number>;
}

const EVENT_HEIGHT = 34;
/** Characters of a name drawn in a node; the whole name is in its tooltip and details. */
export const MAX_LABEL = 26;
const SERVICE_HEIGHT = 44;
/** Between ranks: room for an edge's two-line label (a rate, then a latency). */
const RANK_GAP = 84;
/** Between the main chain and the compensation band. */
const BAND_GAP = 56;
const MARGIN = 24;
/** Around the compensation band's nodes, inside its area. */
const BAND_PADDING = 14;

/** A name cut to MAX_LABEL characters, with an ellipsis when it was longer. */
export function shortened(name: string): string {
  return name.length <= MAX_LABEL ? name : `${name.slice(0, MAX_LABEL - 1)}…`;
}

/** Roughly how wide a label is in the map's 13 px font: enough to size boxes without measuring. */
export function labelWidth(text: string, charWidth = 7.4): number {
  return Math.ceil(text.length * charWidth);
}

export const eventNodeId = (eventType: string) => `event:${eventType}`;
export const serviceNodeId = (service: string, group: string) => `service:${service}|${group}`;

export function choreographyMap(input: MapInput): ChoreographyMap {
  const steps = new Map(input.model.steps.map((step) => [step.eventType, step]));
  const events = new Map(input.catalog.events.map((event) => [event.eventType, event]));
  const eventTypes = [...new Set([...events.keys(), ...steps.keys()])].sort();

  const nodes = new Map<string, MapNode>();
  const edges = new Map<string, MapEdge>();
  for (const eventType of eventTypes) {
    const step = steps.get(eventType);
    const shortLabel = shortened(eventType);
    nodes.set(eventNodeId(eventType), {
      id: eventNodeId(eventType), kind: 'event', label: eventType, shortLabel, detail: null, eventType, service: null, group: null, band: 'main',
      x: 0, y: 0, width: Math.max(90, labelWidth(shortLabel) + 28), height: EVENT_HEIGHT,
      ratePerSecond: events.get(eventType)?.ratePerSecond ?? null, stuck: input.stuckAfter.get(eventType) ?? 0, terminal: step?.terminal ?? null,
    });
  }
  const serviceNode = (service: string, group: string): string => {
    const id = serviceNodeId(service, group);
    if (!nodes.has(id)) {
      const detail = group !== '' && group !== service ? `group ${shortened(group)}` : null;
      const shortLabel = shortened(service);
      nodes.set(id, {
        id, kind: 'service', label: service, shortLabel, detail, eventType: null, service, group, band: 'main', x: 0, y: 0,
        width: Math.max(84, labelWidth(shortLabel, 8) + 32, detail === null ? 0 : labelWidth(detail, 6.4) + 28), height: SERVICE_HEIGHT,
        ratePerSecond: null, stuck: 0, terminal: null,
      });
    }
    return id;
  };

  // consume edges: each group handling each event
  const handlersOf = new Map<string, { service: string; group: string }[]>();
  for (const eventType of eventTypes) {
    const consumers = consumersOf(steps.get(eventType), events.get(eventType));
    handlersOf.set(eventType, consumers.map(({ service, group }) => ({ service, group })));
    const rate = events.get(eventType)?.ratePerSecond ?? null;
    for (const consumer of consumers) {
      const to = serviceNode(consumer.service, consumer.group);
      const id = `consume:${eventType}->${to}`;
      edges.set(id, {
        id, kind: 'consume', from: eventNodeId(eventType), to, eventType, service: consumer.service, group: consumer.group,
        latency: consumer.wait, handling: consumer.handling, errorRate: consumer.errorRate, after: null, ratePerSecond: rate === null ? null : rate * consumer.probability,
      });
    }
  }

  // produce edges: from the group whose handling sends the event, else from the service as an origin
  const followed = new Map<string, { after: string; latency: ApiLatency; probability: number }[]>();
  for (const step of input.model.steps) {
    for (const transition of step.transitions) {
      const list = followed.get(transition.eventType) ?? [];
      list.push({ after: step.eventType, latency: transition.latency, probability: transition.probability });
      followed.set(transition.eventType, list);
    }
  }
  for (const eventType of eventTypes) {
    const rate = events.get(eventType)?.ratePerSecond ?? null;
    for (const service of producersOf(steps.get(eventType), events.get(eventType))) {
      const sources: { service: string; group: string; after: string; latency: ApiLatency | null }[] = (followed.get(eventType) ?? []).flatMap(({ after, latency }) =>
        (handlersOf.get(after) ?? []).filter((handler) => handler.service === service).map((handler) => ({ ...handler, after, latency })));
      if (sources.length === 0) {
        // never learned following an event this service handles: sent on a request or a timer (or not learned yet)
        const from = serviceNode(service, '');
        const id = `produce:${from}->${eventType}`;
        edges.set(id, {
          id, kind: 'produce', from, to: eventNodeId(eventType), eventType, service, group: '', latency: null, handling: null, errorRate: null, after: null, ratePerSecond: rate,
        });
      }
      for (const source of sources) {
        const from = serviceNode(source.service, source.group);
        const id = `produce:${from}->${eventType}`;
        if (edges.has(id)) continue;
        edges.set(id, {
          id, kind: 'produce', from, to: eventNodeId(eventType), eventType, service, group: source.group, latency: source.latency, handling: null, errorRate: null,
          after: source.after, ratePerSecond: sources.length === 1 ? rate : null,
        });
      }
    }
  }

  markCompensation(nodes, edges);
  return laidOut([...nodes.values()], [...edges.values()]);
}

function consumersOf(step: ApiModelStep | undefined, event: ApiCatalogEvent | undefined) {
  const found = new Map<string, { service: string; group: string; wait: ApiLatency | null; handling: ApiLatency | null; errorRate: number | null; probability: number }>();
  for (const consumer of step?.consumers ?? []) {
    found.set(`${consumer.service}|${consumer.group}`, {
      service: consumer.service, group: consumer.group, wait: consumer.wait, probability: consumer.probability,
      handling: consumer.handling.count > 0 ? consumer.handling : null, errorRate: consumer.attempts > 0 ? consumer.failedAttempts / consumer.attempts : null,
    });
  }
  for (const consumer of event?.consumers ?? []) {
    const group = consumer.consumerGroup ?? '';
    const key = `${consumer.service}|${group}`;
    if (!found.has(key)) found.set(key, { service: consumer.service, group, wait: null, handling: null, errorRate: null, probability: 1 });
  }
  return [...found.values()].sort((a, b) => a.service.localeCompare(b.service) || a.group.localeCompare(b.group));
}

function producersOf(step: ApiModelStep | undefined, event: ApiCatalogEvent | undefined): string[] {
  return [...new Set([...(step?.producers ?? []).map((p) => p.service), ...(event?.producers ?? []).map((p) => p.service)])].sort();
}

/**
 * The compensation band: events from which only compensated ends are reached (a declared or learned
 * `compensated` terminal, and what leads only there), and the groups that handle nothing else.
 */
function markCompensation(nodes: Map<string, MapNode>, edges: Map<string, MapEdge>): void {
  const next = new Map<string, Set<string>>();
  for (const edge of edges.values()) {
    const list = next.get(edge.from) ?? new Set<string>();
    list.add(edge.to);
    next.set(edge.from, list);
  }
  const endsOf = new Map<string, Set<'completed' | 'compensated' | 'open'>>();
  const ends = (id: string, visiting: Set<string>): Set<'completed' | 'compensated' | 'open'> => {
    const known = endsOf.get(id);
    if (known !== undefined) return known;
    const node = nodes.get(id)!;
    const result = new Set<'completed' | 'compensated' | 'open'>();
    if (node.terminal !== null) result.add(node.terminal);
    visiting.add(id);
    for (const to of next.get(id) ?? []) if (!visiting.has(to)) for (const end of ends(to, visiting)) result.add(end);
    visiting.delete(id);
    if (result.size === 0) result.add('open');
    endsOf.set(id, result);
    return result;
  };
  for (const node of nodes.values()) {
    const reached = ends(node.id, new Set());
    if (node.kind === 'event' && reached.has('compensated') && !reached.has('completed')) node.band = 'compensation';
  }
  for (const node of nodes.values()) {
    if (node.kind !== 'service') continue;
    const handled = [...edges.values()].filter((edge) => edge.to === node.id).map((edge) => nodes.get(edge.from)!);
    if (handled.length > 0 && handled.every((event) => event.band === 'compensation')) node.band = 'compensation';
  }
}

/** Ranks left to right (dagre's layered layout), then the compensation band moved below the main chain. */
function laidOut(nodes: MapNode[], edges: MapEdge[]): ChoreographyMap {
  if (nodes.length === 0) return { nodes, edges, width: 0, height: 0, compensation: null };
  const place = (band: MapBand) => {
    const members = nodes.filter((node) => node.band === band);
    if (members.length === 0) return { width: 0, height: 0 };
    const ids = new Set(members.map((node) => node.id));
    const graph = new graphlib.Graph({ multigraph: false });
    graph.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: RANK_GAP, marginx: 0, marginy: 0 });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const node of members) graph.setNode(node.id, { width: node.width, height: node.height });
    // an event sits right after the service that sends it (a send is held short); a handling may stretch,
    // so a sink handling many events (notification) does not drag each of them across the map to itself
    for (const edge of edges) if (ids.has(edge.from) && ids.has(edge.to)) graph.setEdge(edge.from, edge.to, { weight: edge.kind === 'produce' ? 4 : 1 });
    layout(graph);
    for (const node of members) {
      const placed = graph.node(node.id) as { x: number; y: number };
      node.x = placed.x;
      node.y = placed.y;
    }
    const info = graph.graph() as { width?: number; height?: number };
    return { width: info.width ?? 0, height: info.height ?? 0 };
  };
  const main = place('main');
  place('compensation');
  // the band starts under the main chain, and as far right as the first event it follows from
  const compensationNodes = nodes.filter((node) => node.band === 'compensation');
  if (compensationNodes.length > 0) {
    const entries = edges.filter((edge) => compensationNodes.some((node) => node.id === edge.to) && !compensationNodes.some((node) => node.id === edge.from));
    const fromX = Math.max(0, ...entries.map((edge) => nodes.find((node) => node.id === edge.from)!.x));
    const shiftX = Math.max(0, fromX + RANK_GAP - Math.min(...compensationNodes.map((node) => node.x - node.width / 2)));
    const shiftY = main.height + BAND_GAP + BAND_PADDING;
    for (const node of compensationNodes) {
      node.x += shiftX;
      node.y += shiftY;
    }
  }
  for (const node of nodes) {
    node.x += MARGIN;
    node.y += MARGIN;
  }
  let band: ChoreographyMap['compensation'] = null;
  if (compensationNodes.length > 0) {
    const left = Math.min(...compensationNodes.map((node) => node.x - node.width / 2)) - BAND_PADDING;
    const top = Math.min(...compensationNodes.map((node) => node.y - node.height / 2)) - BAND_PADDING - 14; // room for its title
    const right = Math.max(...compensationNodes.map((node) => node.x + node.width / 2)) + BAND_PADDING;
    const bottom = Math.max(...compensationNodes.map((node) => node.y + node.height / 2)) + BAND_PADDING;
    band = { x: left, y: top, width: right - left, height: bottom - top };
  }
  const width = Math.max(...nodes.map((node) => node.x + node.width / 2), band === null ? 0 : band.x + band.width) + MARGIN;
  const height = Math.max(...nodes.map((node) => node.y + node.height / 2), band === null ? 0 : band.y + band.height) + MARGIN;
  return { nodes, edges, width, height, compensation: band };
}
