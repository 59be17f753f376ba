// Just enough of the protobuf wire format to read what an OTLP/HTTP trace exporter posts: resource
// attributes, scopes, spans with their ids, parents, links and attributes. Field numbers from
// opentelemetry-proto (collector/trace/v1, trace/v1, common/v1, resource/v1).

export type OtlpValue = string | boolean | number | OtlpValue[];

export interface OtlpSpan {
  scope: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's numbering: 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, OtlpValue>;
  links: { traceId: string; spanId: string }[];
}

export interface OtlpResourceSpans {
  resource: Record<string, OtlpValue>;
  spans: OtlpSpan[];
}

interface Field {
  no: number;
  /** Varint fields. */
  int: bigint;
  /** Length-delimited and fixed-size fields. */
  bytes: Buffer;
}

function readVarint(buf: Buffer, at: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const byte = buf[at++];
    if (byte === undefined) throw new Error('truncated varint');
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, at];
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  for (let at = 0; at < buf.length;) {
    const [tag, next] = readVarint(buf, at);
    at = next;
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [int, after] = readVarint(buf, at);
      out.push({ no, int, bytes: Buffer.alloc(0) });
      at = after;
    } else if (wire === 2) {
      const [length, start] = readVarint(buf, at);
      at = start + Number(length);
      if (at > buf.length) throw new Error('truncated field');
      out.push({ no, int: 0n, bytes: buf.subarray(start, at) });
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      out.push({ no, int: 0n, bytes: buf.subarray(at, at + size) });
      at += size;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

const all = (buf: Buffer, no: number) => fields(buf).filter((f) => f.no === no);
const first = (buf: Buffer, no: number) => all(buf, no)[0];
const text = (buf: Buffer, no: number) => first(buf, no)?.bytes.toString('utf8') ?? '';
const hex = (buf: Buffer, no: number) => first(buf, no)?.bytes.toString('hex') ?? '';

function anyValue(buf: Buffer): OtlpValue {
  const [field] = fields(buf);
  if (!field) return '';
  switch (field.no) {
    case 1: return field.bytes.toString('utf8');
    case 2: return field.int !== 0n;
    case 3: return Number(BigInt.asIntN(64, field.int));
    case 4: return field.bytes.readDoubleLE(0);
    case 5: return all(field.bytes, 1).map((value) => anyValue(value.bytes));
    default: throw new Error(`unsupported AnyValue field ${field.no}`);
  }
}

function attributes(buf: Buffer, no: number): Record<string, OtlpValue> {
  return Object.fromEntries(all(buf, no).map(({ bytes }) => [text(bytes, 1), anyValue(first(bytes, 2)?.bytes ?? Buffer.alloc(0))]));
}

/** An `ExportTraceServiceRequest` body. */
export function decodeTraceRequest(body: Buffer): OtlpResourceSpans[] {
  return all(body, 1).map(({ bytes: resourceSpans }) => ({
    resource: attributes(first(resourceSpans, 1)?.bytes ?? Buffer.alloc(0), 1),
    spans: all(resourceSpans, 2).flatMap(({ bytes: scopeSpans }) => {
      const scope = text(first(scopeSpans, 1)?.bytes ?? Buffer.alloc(0), 1);
      return all(scopeSpans, 2).map(({ bytes: span }) => ({
        scope,
        traceId: hex(span, 1),
        spanId: hex(span, 2),
        parentSpanId: hex(span, 4),
        name: text(span, 5),
        kind: Number(first(span, 6)?.int ?? 0n),
        attributes: attributes(span, 9),
        links: all(span, 13).map(({ bytes: link }) => ({ traceId: hex(link, 1), spanId: hex(link, 2) })),
      }));
    }),
  }));
}
