import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startCluster, type TestCluster } from '../../support/cluster-harness.js';
import { seededRng, seedToRun } from '../../support/seeded-random.js';
import { partitionOf, orderEntity } from '../../../src/domain/entities.js';
import type { OrderEvent } from '../../../src/domain/order-events.js';
import { verifyWebhookSignature } from '../../../src/events/webhook-signature.js';
import { startReceiver, until } from '../events/events-support.js';
import { owners, runSale, settled, stockSkus } from './cluster-support.js';

/**
 * Events out across a real cluster of two node processes: every order's events reach the webhook receiver and the
 * `<CLUSTER_NAME>:events` stream in sequence order per order, while the order partitions move between the nodes and
 * orders change state through either node. Seeds replay with BO_SEED.
 */
const partitions = 16;
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 2, partitions, env: { WEBHOOK_RETRY_DELAY_MS_BASE: '20' } });
  await settled(c, 2);
}, 120_000);

afterAll(async () => {
  await c?.stop();
});

/** Events once per id, in arrival order; and per order, the sequences in that order. */
function dedupe(events: OrderEvent[]): { unique: OrderEvent[]; byOrder: Map<string, number[]> } {
  const seen = new Set<string>();
  const unique = events.filter((e) => !seen.has(e.id) && seen.add(e.id));
  const byOrder = new Map<string, number[]>();
  for (const e of unique) byOrder.set(e.orderId, [...(byOrder.get(e.orderId) ?? []), e.sequence]);
  return { unique, byOrder };
}

describe('events out in a cluster', () => {
  it('delivers every order event at least once and in order per order, through partition moves', async () => {
    const seed = seedToRun(1_201);
    const rng = seededRng(seed);
    let failNext = true;
    // The receiver refuses every fourth request once: retries go on while partitions move.
    const receiver = await startReceiver((_r, n) => (n % 4 === 0 && (failNext = !failNext) ? 503 : 200));
    const redis = new Redis(c.redisUrl!);
    try {
      const hook = await c.admin(0, 'POST', '/api/admin/webhooks', { url: receiver.url, events: ['order.confirmed', 'order.pending', 'order.shipped', 'order.cancelled', 'payment.captured'] });
      expect(hook.status).toBe(201);
      await stockSkus(c, [{ sku: 'EVT', onHand: 40 }]);
      const keys = Array.from({ length: 40 }, (_, i) => `evt-${seed}-${i}`);
      let moving = true;
      const moves = (async () => {
        for (let i = 0; moving && i < 8; i++) {
          const own = await owners(c);
          const p = Math.floor(rng() * partitions);
          const to = c.nodes.find((n) => n.id !== own.get(p)?.nodeId)!.id;
          await c.admin(i % 2, 'POST', `/api/admin/partitions/${p}/move`, { to });
        }
      })();
      const sale = await runSale(c, rng, keys, () => [{ sku: 'EVT', qty: 1 }], 8);
      const orderIds = [...sale.answers.values()].filter((a) => a.status === 201).map((a) => a.body.orderId as string);
      expect(orderIds.length).toBe(40);
      // Ship or cancel through either node (forwarded to the order's owner), while moves go on. The simulated payment
      // provider lives in each node's memory, so a capture or void succeeds only where the checkout authorized: the
      // orders that changed state are counted from the answers.
      const expected = new Map<string, number>();
      for (const [i, id] of orderIds.entries()) {
        const via = i % 2;
        const shipped = i % 3 !== 2 ? await c.admin(via, 'POST', `/api/orders/${id}/ship`) : null;
        const cancelled = shipped?.status === 200 ? null : await c.admin(1 - via, 'POST', `/api/orders/${id}/cancel`);
        expected.set(id, shipped?.status === 200 ? 3 : cancelled?.status === 200 ? 2 : 1);
      }
      expect([...expected.values()].filter((n) => n > 1).length, 'some orders changed state').toBeGreaterThan(5);
      moving = false;
      await moves;
      const total = [...expected.values()].reduce((a, b) => a + b, 0);
      await until(() => dedupe(receiver.accepted.map((r) => r.event)).unique.length === total, 60_000, `seed ${seed}: ${total} webhook events`);
      for (const r of receiver.received) expect(verifyWebhookSignature(hook.body.secret, r.body, r.signature, Math.floor(Date.now() / 1000))).toBe(true);
      const hooked = dedupe(receiver.accepted.map((r) => r.event)).byOrder;
      for (const [id, n] of expected) expect(hooked.get(id), `seed ${seed}: webhook events of ${id}`).toEqual(Array.from({ length: n }, (_, k) => k + 1));

      const streamed = async () => (await redis.xrange(`${c.name}:events`, '-', '+')).map(([, f]) => JSON.parse(f[1]!) as OrderEvent);
      await until(async () => dedupe(await streamed()).unique.length === total, 30_000, `seed ${seed}: ${total} stream entries`);
      const inStream = dedupe(await streamed()).byOrder;
      for (const [id, n] of expected) expect(inStream.get(id), `seed ${seed}: stream events of ${id}`).toEqual(Array.from({ length: n }, (_, k) => k + 1));
      // The orders spread over both nodes' partitions.
      const own = await owners(c);
      expect(new Set(orderIds.map((id) => own.get(partitionOf(orderEntity(id), partitions))!.nodeId)).size).toBe(2);
    } finally {
      redis.disconnect();
      await receiver.close();
    }
  }, 180_000);
});
