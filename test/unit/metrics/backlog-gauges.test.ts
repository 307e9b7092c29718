import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BacklogGauges } from '../../../src/metrics/backlog-gauges.js';
import type { BacklogCounts } from '../../../src/persistence/metric-queries.js';
import { parseScrape } from '../../support/metrics-scrape.js';

const counts = (ordersPending: number): BacklogCounts => ({ ordersPending, orderPendingOldestAgeS: 12, authorizationsOutstanding: 3, authorizationOldestAgeS: 40, webhookLagS: 2 });

function setup(o: { exports: () => boolean; read: () => Promise<BacklogCounts> }) {
  let now = 0;
  const registry = new client.Registry();
  const gauges = new BacklogGauges(registry, { nowMs: () => now, cacheMs: 5_000, timeoutMs: 50 });
  const errors: unknown[] = [];
  let reads = 0;
  gauges.setSource({ exports: o.exports, read: () => (reads++, o.read()), onError: (err) => errors.push(err) });
  const scrape = async () => parseScrape(await registry.metrics());
  return { scrape, errors, reads: () => reads, advance: (ms: number) => (now += ms) };
}

describe('the backlog gauges', () => {
  it('reports the database backlog on the node that runs the chores, read at most once per cache period', async () => {
    let pending = 1;
    const g = setup({ exports: () => true, read: async () => counts(pending) });
    const first = await g.scrape();
    expect(first.value('boxoffice_orders_pending')).toBe(1);
    expect(first.value('boxoffice_order_pending_oldest_age_seconds')).toBe(12);
    expect(first.value('boxoffice_authorizations_outstanding')).toBe(3);
    expect(first.value('boxoffice_authorization_oldest_age_seconds')).toBe(40);
    expect(first.value('boxoffice_webhook_lag_seconds')).toBe(2);
    expect(g.reads()).toBe(1);
    pending = 7;
    g.advance(4_999);
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(1);
    expect(g.reads()).toBe(1);
    g.advance(1);
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(7);
    expect(g.reads()).toBe(2);
  });

  it('reports 0 and reads nothing on every other node, so a sum across nodes counts once', async () => {
    const g = setup({ exports: () => false, read: async () => counts(5) });
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(0);
    expect(g.reads()).toBe(0);
  });

  it('keeps the last values when a read fails or does not answer in time', async () => {
    let mode: 'ok' | 'fail' | 'hang' = 'ok';
    const g = setup({
      exports: () => true,
      read: () => (mode === 'ok' ? Promise.resolve(counts(2)) : mode === 'fail' ? Promise.reject(new Error('db down')) : new Promise<never>(() => {})),
    });
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(2);
    mode = 'fail';
    g.advance(5_000);
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(2);
    mode = 'hang';
    g.advance(5_000);
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(2);
    expect(g.errors.map((e) => (e as Error).message)).toEqual(['db down', 'backlog gauges not read within 50 ms']);
  });
});
