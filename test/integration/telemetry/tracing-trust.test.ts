import { describe, expect, it } from 'vitest';
import { buyNowBody } from '../../support/checkout-client.js';
import { startTestNode, stock } from '../../support/node-harness.js';
import { startOtlpSink } from '../../support/otlp-sink.js';

/**
 * A client's `traceparent` and our sampling (docs/observability.md, "A client's traceparent"): by default the client
 * cannot choose what is recorded; OTEL_TRUST_TRACEPARENT=true (behind a trusted gateway) continues its trace.
 */

const clientSpanId = '00f067aa0ba902b7';

describe('a client cannot force or choose sampling (OTEL_TRUST_TRACEPARENT unset)', () => {
  it.each([
    // parentbased: a sampled remote parent would be recorded whatever the ratio.
    ['parentbased_traceidratio', '0', ['4bf92f3577b34da6a3ce929d0e0e4736', '00000000000000000000000000000001']],
    // traceidratio: a low trace id would pass any ratio above 0.
    ['traceidratio', '0.000001', ['00000000000000000000000000000001', '00000000000000010000000000000000']],
  ])('%s at %s records none of the checkouts sent with a sampled traceparent', async (sampler, ratio, traceIds) => {
    // What is asserted is deterministic: the client's trace ids are never ours and nothing of theirs is exported. (At
    // ratio 1e-6 one of the node's own random trace ids may, once in a million, be sampled: that is not asserted on.)
    const ours: string[] = [];
    const sink = await startOtlpSink();
    const t = await startTestNode({ driver: 'pg', env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: ratio } });
    try {
      await stock(t, 'TT-1', 100);
      for (let i = 0; i < 10; i++) {
        const traceparent = `00-${traceIds[i % traceIds.length]}-${clientSpanId}-01`;
        const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TT-1', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': `trust-${sampler}-${i}`, traceparent });
        expect(res.status).toBe(201);
        const [, traceId] = (res.headers.get('traceresponse') ?? '').split('-');
        expect(traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(traceIds).not.toContain(traceId);
        ours.push(traceId!);
      }
    } finally {
      // The close exports whatever is queued: after it, the sink has everything this node would ever send.
      await t.stop();
    }
    try {
      expect(sink.spans.filter((s) => traceIds.includes(s.traceId))).toEqual([]);
      // parentbased at 0 samples nothing of ours either: nothing at all is exported.
      if (ratio === '0') expect(sink.spanCount).toBe(0);
    } finally {
      await sink.close();
    }
  }, 60_000);
});

describe('OTEL_TRUST_TRACEPARENT=true', () => {
  it('makes the server span a child of the client\'s traceparent, in its trace', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    const sink = await startOtlpSink();
    const t = await startTestNode({ driver: 'pg', env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRUST_TRACEPARENT: 'true' } });
    try {
      await stock(t, 'TT-2', 5);
      const res = await t.call('POST', '/api/checkout', buyNowBody([{ sku: 'TT-2', qty: 1 }], 'pm_card_visa'), { 'idempotency-key': 'trusted-1', traceparent: `00-${traceId}-${clientSpanId}-01` });
      expect(res.status).toBe(201);
      const spans = await sink.waitFor((all) => ['POST /api/checkout', 'checkout', 'order.write'].every((n) => all.some((s) => s.traceId === traceId && s.name === n)));
      const server = spans.find((s) => s.traceId === traceId && s.name === 'POST /api/checkout')!;
      expect(server.parentSpanId).toBe(clientSpanId);
      expect(server.links).toEqual([]);
      expect(spans.find((s) => s.traceId === traceId && s.name === 'checkout')!.parentSpanId).toBe(server.spanId);
      expect(res.headers.get('traceresponse')).toBe(`00-${traceId}-${server.spanId}-01`);
    } finally {
      await t.stop();
      await sink.close();
    }
  }, 60_000);
});
