import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutPartition } from '../../../src/domain/entities.js';
import { buyNowBody } from '../../support/checkout-client.js';
import { startCluster, type TestCluster } from '../../support/cluster-harness.js';
import { startOtlpSink, type OtlpSink } from '../../support/otlp-sink.js';
import { owners, settled, stockSkus } from '../cluster/cluster-support.js';

/**
 * A checkout sent to a node that does not own its key's partition is forwarded to the owner over the node transport;
 * with traces exported, the owner's spans continue the first node's trace (docs/observability.md, "Across nodes").
 */
const partitions = 16;
let c: TestCluster;
let sink: OtlpSink;

beforeAll(async () => {
  sink = await startOtlpSink();
  c = await startCluster({ nodes: 2, partitions, env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } });
  await settled(c, 2);
}, 120_000);

afterAll(async () => {
  await c?.stop();
  await sink?.close();
});

describe('a trace across a node hop', () => {
  it('continues the trace on the owner of the checkout', async () => {
    await stockSkus(c, [{ sku: 'HOP-1', onHand: 10 }]);
    const own = await owners(c);
    // A key whose checkout partition the second node owns, sent to the first one.
    const owner = c.nodes[1]!.id;
    const key = Array.from({ length: 200 }, (_, i) => `hop-${i}`).find((k) => own.get(checkoutPartition(k, partitions))?.nodeId === owner)!;
    expect(key, `a key owned by ${owner}`).toBeDefined();
    const traceId = 'abcdef0123456789abcdef0123456789';
    const clientSpanId = '1111111111111111';
    const res = await fetch(`${c.url(0)}/api/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, traceparent: `00-${traceId}-${clientSpanId}-01`, 'x-correlation-id': 'hop-corr-1' },
      body: JSON.stringify(buyNowBody([{ sku: 'HOP-1', qty: 1 }], 'pm_card_visa')),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-correlation-id')).toBe('hop-corr-1');

    // The first node starts a trace of its own (OTEL_TRUST_TRACEPARENT unset), linked to the caller's.
    const ours = /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/.exec(res.headers.get('traceresponse') ?? '')?.[1];
    expect(ours).toBeDefined();
    expect(ours).not.toBe(traceId);
    // Each node exports on its own schedule: wait for both server spans, the checkout and its order write.
    const spans = await sink.waitFor((all) => {
      const names = all.filter((s) => s.traceId === ours).map((s) => s.name);
      return names.filter((n) => n === 'POST /api/checkout').length === 2 && names.includes('checkout') && names.includes('order.write');
    }, 20_000);
    const traced = spans.filter((s) => s.traceId === ours);
    const servers = traced.filter((s) => s.name === 'POST /api/checkout');
    const edge = servers.find((s) => s.attributes['boxoffice.forwarded_from'] === undefined)!;
    const onOwner = servers.find((s) => s.attributes['boxoffice.forwarded_from'] !== undefined)!;
    expect(edge, 'the first node\'s server span, linked to the caller').toBeDefined();
    expect(edge.parentSpanId).toBe('');
    expect(edge.links).toEqual([{ traceId, spanId: clientSpanId }]);
    expect(onOwner, 'the owner\'s server span').toBeDefined();
    // A peer's `tp` is trusted: the owner continues the first node's trace.
    expect(onOwner.parentSpanId).toBe(edge.spanId);
    expect(onOwner.links).toEqual([]);
    // The caller is answered by the node it called: its server span is the one named.
    expect(res.headers.get('traceresponse')).toBe(`00-${ours}-${edge.spanId}-01`);
    expect(onOwner.attributes['boxoffice.correlation_id']).toBe('hop-corr-1');
    const checkout = traced.find((s) => s.name === 'checkout')!;
    expect(checkout.parentSpanId).toBe(onOwner.spanId);
    expect(checkout.attributes['boxoffice.correlation_id']).toBe('hop-corr-1');
  }, 60_000);
});
