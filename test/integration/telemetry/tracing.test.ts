import { createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyNowBody, pollUntil } from '../../support/checkout-client.js';
import { startTestNode, stock, type TestNode } from '../../support/node-harness.js';
import { startOtlpSink, type OtlpSink, type SinkSpan } from '../../support/otlp-sink.js';

/**
 * Traces with an OTLP endpoint set (docs/observability.md): a real node on PostgreSQL exporting to a test receiver.
 */

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const clientSpanId = '00f067aa0ba902b7';
const traceparent = `00-${traceId}-${clientSpanId}-01`;

/** The node's JSON log lines, captured from its own logger. */
function logCapture(): { stream: PassThrough; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { stream, lines: () => text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const inTrace = (spans: SinkSpan[], id: string) => spans.filter((s) => s.traceId === id);
/** The trace id the answer's `traceresponse` names. */
const traceOf = (res: { headers: Headers }) => /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(res.headers.get('traceresponse') ?? '')?.[1] ?? 'none';

describe('traces exported over OTLP', () => {
  let sink: OtlpSink;
  let t: TestNode;
  const logs = logCapture();

  beforeAll(async () => {
    sink = await startOtlpSink();
    t = await startTestNode({ driver: 'pg', env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'boxoffice-test', LOG_LEVEL: 'debug' }, node: { logger: undefined, logDestination: logs.stream } });
    await stock(t, 'TR-1', 100);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await sink?.close();
  });

  it('puts the checkout, its saga steps, the provider call and the order write in a trace of its own, linked to the caller\'s', async () => {
    const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TR-1', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': 'trace-1', traceparent });
    expect(res.status).toBe(201);
    // OTEL_TRUST_TRACEPARENT is off: the client's traceparent does not choose our trace (tracing-trust.test.ts).
    const ours = traceOf(res);
    expect(ours).not.toBe(traceId);
    const names = ['POST /api/checkout', 'checkout', 'checkout.reserve', 'checkout.authorize', 'payment.authorize', 'checkout.order', 'order.write', 'checkout.commit'];
    const spans = await sink.waitFor((all) => names.every((n) => inTrace(all, ours).some((s) => s.name === n)));
    const traced = inTrace(spans, ours);
    expect(inTrace(spans, traceId)).toEqual([]);
    const named = (n: string) => traced.find((s) => s.name === n)!;
    const server = named('POST /api/checkout');
    expect(server.parentSpanId).toBe('');
    expect(server.links).toEqual([{ traceId, spanId: clientSpanId }]);
    expect(server.kind).toBe(2);
    expect(server.service).toBe('boxoffice-test');
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/api/checkout', 'http.response.status_code': 201 });
    expect(res.headers.get('traceresponse')).toBe(`00-${ours}-${server.spanId}-01`);
    expect(named('checkout').parentSpanId).toBe(server.spanId);
    expect(named('checkout.authorize').parentSpanId).toBe(named('checkout').spanId);
    expect(named('payment.authorize')).toMatchObject({ kind: 3, parentSpanId: named('checkout.authorize').spanId });
    expect(named('order.write').attributes['boxoffice.order.id']).toBe(res.body.orderId);
    // Nothing that identifies a customer or replays a key goes on a span.
    for (const s of traced) expect(JSON.stringify(s.attributes)).not.toContain('trace-1');
  });

  it('makes no span for the probes and the scrape', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const probe = await fetch(`${t.base}${path}`, { headers: { traceparent } });
      expect(probe.status, path).toBe(200);
      expect(probe.headers.get('traceresponse'), path).toBeNull();
    }
    // Spans are exported in the order they end: once a later request's span arrived, a probe's would have too.
    const res = await t.call('GET', '/openapi.json');
    const after = traceOf(res);
    const spans = await sink.waitFor((all) => inTrace(all, after).length > 0);
    expect(spans.filter((s) => ['/healthz', '/readyz', '/metrics'].includes(String(s.attributes['http.route'])))).toEqual([]);
  });

  it('records a request whose client sent an unsampled traceparent (our sampler decides)', async () => {
    const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TR-1', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': 'trace-00', traceparent: `00-${traceId}-${clientSpanId}-00` });
    expect(res.status).toBe(201);
    expect(res.headers.get('traceresponse')).toMatch(/-01$/);
    const ours = traceOf(res);
    await sink.waitFor((all) => inTrace(all, ours).some((s) => s.name === 'order.write'));
  });

  it('links a journal batch span to the request whose append it carried', async () => {
    const otherTrace = '1'.repeat(32);
    const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TR-1', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': 'trace-2', traceparent: `00-${otherTrace}-${clientSpanId}-01` });
    expect(res.status).toBe(201);
    const ours = traceOf(res);
    const serverOf = (all: SinkSpan[]) => inTrace(all, ours).find((s) => s.name === 'POST /api/checkout');
    const spans = await sink.waitFor((all) => {
      const server = serverOf(all);
      return server !== undefined && all.some((s) => s.name === 'journal.batch' && s.links.some((l) => l.spanId === server.spanId));
    });
    const server = serverOf(spans)!;
    const batch = spans.find((s) => s.name === 'journal.batch' && s.links.some((l) => l.spanId === server.spanId))!;
    // The batch is a trace of its own (it carries many requests), linked to this one.
    expect(batch.traceId).not.toBe(ours);
    expect(batch.parentSpanId).toBe('');
    expect(batch.links.find((l) => l.spanId === server.spanId)!.traceId).toBe(ours);
    expect(batch.attributes['boxoffice.batch.rows']).toBeGreaterThanOrEqual(1);
  });

  it('starts a new trace for a malformed or oversize traceparent and still answers', async () => {
    for (const [i, bad] of ['00-xyz-00f067aa0ba902b7-01', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01${'0'.repeat(200)}`, `00-${'0'.repeat(32)}-${clientSpanId}-01`].entries()) {
      const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TR-1', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': `trace-bad-${i}`, traceparent: bad });
      expect(res.status).toBe(201);
      const [, newTrace, serverSpanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(res.headers.get('traceresponse') ?? '') ?? [];
      expect(newTrace).toBeDefined();
      expect(newTrace).not.toMatch(/^0+$/);
      expect(bad).not.toContain(newTrace!);
      const spans = await sink.waitFor((all) => ['POST /api/checkout', 'order.write'].every((n) => all.some((sp) => sp.traceId === newTrace && sp.name === n)));
      const server = spans.find((sp) => sp.spanId === serverSpanId)!;
      expect(server.parentSpanId).toBe('');
      expect(spans.find((sp) => sp.traceId === newTrace && sp.name === 'order.write')!.attributes['boxoffice.order.id']).toBe(res.body.orderId);
    }
  });

  it('logs the correlation id and the trace id of a checkout, and echoes the id', async () => {
    const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TR-1', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': 'trace-log-1', traceparent, 'x-correlation-id': 'abc-123' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-correlation-id')).toBe('abc-123');
    // The saga logs its end after the reply (it commits the holds first).
    const line = await pollUntil('the saga log line', 10_000, async () => logs.lines().find((l) => l['correlation_id'] === 'abc-123' && l['orderId'] === res.body.orderId));
    expect(line).toMatchObject({ msg: 'checkout saga finished', trace_id: traceOf(res) });
    const spans = await sink.waitFor((all) => all.some((s) => s.name === 'order.write' && s.attributes['boxoffice.order.id'] === res.body.orderId));
    expect(spans.find((s) => s.name === 'order.write' && s.attributes['boxoffice.order.id'] === res.body.orderId)!.attributes['boxoffice.correlation_id']).toBe('abc-123');
  });

  it('replaces a correlation id it cannot trust, and the request still succeeds', async () => {
    for (const [i, bad] of ['x'.repeat(129), 'abc 123', 'abc\u00e9', 'a"b'].entries()) {
      const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TR-1', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': `trace-cid-${i}`, 'x-correlation-id': bad });
      expect(res.status).toBe(201);
      const echoed = res.headers.get('x-correlation-id')!;
      expect(echoed).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expect(echoed).not.toBe(bad);
      await pollUntil('a log line with the generated id', 10_000, async () => logs.lines().find((l) => l['orderId'] === res.body.orderId && l['correlation_id'] === echoed));
    }
  });

  it('serves /metrics as OpenMetrics with trace exemplars when asked, and in the classic format otherwise', async () => {
    const open = await fetch(`${t.base}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(open.headers.get('content-type')).toContain('application/openmetrics-text');
    const om = await open.text();
    expect(om.endsWith('# EOF\n')).toBe(true);
    // Each bucket keeps its latest exemplar: the trace of some checkout this test sent, exported with its server span.
    for (const histogram of ['checkout', 'payment_authorize', 'journal_commit', 'order_write']) {
      const bucket = new RegExp(`^boxoffice_${histogram}_seconds_bucket\\{le="[^"]+"\\} \\d+ # \\{trace_id="([0-9a-f]{32})"\\} [\\d.e-]+ [\\d.]+$`, 'gm');
      const exemplars = [...om.matchAll(bucket)].map((m) => m[1]!);
      expect(exemplars.length, histogram).toBeGreaterThan(0);
      await sink.waitFor((all) => exemplars.every((id) => all.some((sp) => sp.traceId === id && sp.name === 'POST /api/checkout')));
    }
    expect(om).toMatch(/^# TYPE boxoffice_checkout_responses counter$/m);
    expect(om).toMatch(/^boxoffice_checkout_responses_total\{/m);
    const plain = await fetch(`${t.base}/metrics`);
    expect(plain.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await plain.text();
    expect(text).not.toContain('# EOF');
    expect(text).not.toContain('trace_id=');
    expect(text).toMatch(/^# TYPE boxoffice_checkout_responses_total counter$/m);
  });
});

describe('without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('loads no SDK, sends nothing, and answers as before with a correlation id', async () => {
    const sink = await startOtlpSink();
    const t = await startTestNode({ driver: 'pg' });
    try {
      await stock(t, 'TR-2', 5);
      const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TR-2', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': 'notrace-1', traceparent, 'x-correlation-id': 'abc-123' });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-correlation-id')).toBe('abc-123');
      expect(res.headers.get('traceresponse')).toBeNull();
      const metrics = await fetch(`${t.base}/metrics`, { headers: { accept: 'application/openmetrics-text' } }).then((r) => r.text());
      expect(metrics).not.toContain('trace_id=');
      expect(sink.requests).toBe(0);
    } finally {
      await t.stop();
      await sink.close();
    }
  }, 60_000);
});

describe('a receiver that never answers', () => {
  it('costs a close at most the export timeout, and checkouts answer meanwhile', async () => {
    // Accepts connections and never writes a byte back.
    const held: Socket[] = [];
    const blackHole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const port = (blackHole.address() as { port: number }).port;
    const t = await startTestNode({ driver: 'pg', env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
    try {
      await stock(t, 'TR-3', 5);
      const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TR-3', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': 'blackhole-1' });
      expect(res.status).toBe(201);
      const startedMs = Date.now();
      await t.stop();
      // telemetryLimits.exportTimeoutMs is 2 s; the rest of the close takes well under a second here.
      expect(Date.now() - startedMs).toBeLessThan(6_000);
      expect(held.length).toBeGreaterThan(0);
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => blackHole.close(() => resolve()));
    }
  }, 60_000);
});
