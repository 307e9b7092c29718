import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One span as an OTLP/HTTP JSON export carries it, ids in hex. */
export interface SinkSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

/**
 * A minimal OTLP/HTTP trace receiver: accepts POST /v1/traces with a JSON body (what @opentelemetry/exporter-trace-
 * otlp-http sends) and keeps the spans; counts every request, whatever its path.
 */
export interface OtlpSink {
  url: string;
  spans: SinkSpan[];
  requests: number;
  /** Spans received, kept or not. */
  spanCount: number;
  /** Polls until `done(spans)` holds, or throws after `timeoutMs` with what arrived. */
  waitFor(done: (spans: SinkSpan[]) => boolean, timeoutMs?: number): Promise<SinkSpan[]>;
  close(): Promise<void>;
}

/**
 * `keep: false` only counts, without parsing (a bench run measures the node, not this receiver sharing its cores): span
 * ids seen, links' included.
 */
export async function startOtlpSink(port = 0, keep = true): Promise<OtlpSink> {
  const sink = { spans: [] as SinkSpan[], requests: 0, spanCount: 0 };
  const server: Server = createServer((req, res) => {
    sink.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(404).end();
        return;
      }
      if (keep) {
        const spans = spansOf(JSON.parse(body.toString('utf8')));
        sink.spanCount += spans.length;
        sink.spans.push(...spans);
      } else sink.spanCount += countSpanIds(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get spans() {
      return sink.spans;
    },
    get requests() {
      return sink.requests;
    },
    get spanCount() {
      return sink.spanCount;
    },
    async waitFor(done, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(sink.spans)) {
        if (Date.now() > deadline) throw new Error(`spans not as expected after ${timeoutMs} ms: ${sink.spans.map((s) => s.name).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return sink.spans;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Json = Record<string, any>;

function spansOf(body: Json): SinkSpan[] {
  const out: SinkSpan[] = [];
  for (const rs of body['resourceSpans'] ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: s.kind,
          attributes: attributesOf(s.attributes),
          links: (s.links ?? []).map((l: Json) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })),
        });
      }
    }
  }
  return out;
}

function attributesOf(list: Json[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) {
    const v = a.value ?? {};
    out[a.key] = v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue ?? v.arrayValue?.values?.map((x: Json) => x.stringValue);
  }
  return out;
}

/** OTLP JSON ids are hex; an exporter that sends base64 (the protobuf JSON mapping) is read too. */
function hex(id: unknown): string {
  if (typeof id !== 'string' || id === '') return '';
  return /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex');
}

const spanIdKey = Buffer.from('"spanId"');

function countSpanIds(body: Buffer): number {
  let n = 0;
  for (let at = body.indexOf(spanIdKey); at !== -1; at = body.indexOf(spanIdKey, at + spanIdKey.length)) n++;
  return n;
}
