import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BacklogGauges } from '../../../src/metrics/backlog-gauges.js';
import type { BacklogCounts, BacklogPart } from '../../../src/persistence/metric-queries.js';
import { parseScrape } from '../../support/metrics-scrape.js';

const counts = (ordersPending: number): BacklogCounts => ({ ordersPending, orderPendingOldestAgeS: 12, authorizationsOutstanding: 3, authorizationOldestAgeS: 40, webhookLagS: 2 });
const names = ['boxoffice_orders_pending', 'boxoffice_order_pending_oldest_age_seconds', 'boxoffice_authorizations_outstanding', 'boxoffice_authorization_oldest_age_seconds', 'boxoffice_webhook_lag_seconds', 'boxoffice_backlog_gauges_age_seconds'];

/** The part of `c` a read of `part` returns. */
function partOf(c: BacklogCounts, part: BacklogPart): Partial<BacklogCounts> {
  if (part === 'orders') return { ordersPending: c.ordersPending, orderPendingOldestAgeS: c.orderPendingOldestAgeS };
  if (part === 'authorizations') return { authorizationsOutstanding: c.authorizationsOutstanding, authorizationOldestAgeS: c.authorizationOldestAgeS };
  return { webhookLagS: c.webhookLagS };
}

function setup(o: { exports: () => boolean; read: (part: BacklogPart) => Promise<BacklogCounts> }) {
  let now = 0;
  const registry = new client.Registry();
  const gauges = new BacklogGauges(registry, { nowMs: () => now, cacheMs: 5_000, timeoutMs: 50 });
  const errors: unknown[] = [];
  let reads = 0;
  gauges.setSource({ exports: o.exports, read: async (part) => (reads++, partOf(await o.read(part), part)), onError: (err) => errors.push(err) });
  const text = async () => registry.metrics();
  const scrape = async () => parseScrape(await text());
  return { scrape, text, errors, reads: () => reads, advance: (ms: number) => (now += ms) };
}

describe('the backlog gauges', () => {
  it('reports the database backlog on the node that runs the chores, each part read at most once per cache period', async () => {
    let pending = 1;
    const g = setup({ exports: () => true, read: async () => counts(pending) });
    const first = await g.scrape();
    expect(first.value('boxoffice_orders_pending')).toBe(1);
    expect(first.value('boxoffice_order_pending_oldest_age_seconds')).toBe(12);
    expect(first.value('boxoffice_authorizations_outstanding')).toBe(3);
    expect(first.value('boxoffice_authorization_oldest_age_seconds')).toBe(40);
    expect(first.value('boxoffice_webhook_lag_seconds')).toBe(2);
    expect(first.value('boxoffice_backlog_gauges_age_seconds')).toBe(0);
    expect(g.reads()).toBe(3);
    pending = 7;
    g.advance(4_999);
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(1);
    expect(g.reads()).toBe(3);
    g.advance(1);
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(7);
    expect(g.reads()).toBe(6);
  });

  it('exports no series at all and reads nothing on every other node (not 0: a handover must not resolve alerts)', async () => {
    const g = setup({ exports: () => false, read: async () => counts(5) });
    const text = await g.text();
    for (const name of names) expect(text).not.toMatch(new RegExp(`^${name} `, 'm'));
    expect(g.reads()).toBe(0);
  });

  it('keeps the last values when a read fails or does not answer in time, while the age of the reads grows', async () => {
    let mode: 'ok' | 'fail' | 'hang' = 'ok';
    const g = setup({
      exports: () => true,
      read: () => (mode === 'ok' ? Promise.resolve(counts(2)) : mode === 'fail' ? Promise.reject(new Error('db down')) : new Promise<never>(() => {})),
    });
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(2);
    mode = 'fail';
    for (const age of [5, 10]) {
      g.advance(5_000);
      const s = await g.scrape();
      expect(s.value('boxoffice_orders_pending')).toBe(2);
      expect(s.value('boxoffice_backlog_gauges_age_seconds')).toBe(age);
    }
    mode = 'hang';
    g.advance(5_000);
    const s = await g.scrape();
    expect(s.value('boxoffice_orders_pending')).toBe(2);
    expect(s.value('boxoffice_backlog_gauges_age_seconds')).toBe(15);
    expect(g.errors.map((e) => (e as Error).message)).toContain('backlog gauges (orders) not read within 50 ms');
    expect(g.errors.filter((e) => (e as Error).message === 'db down')).toHaveLength(6);
  });

  it('keeps reporting the parts that answer when one times out', async () => {
    const g = setup({ exports: () => true, read: (part) => (part === 'authorizations' ? new Promise<never>(() => {}) : Promise.resolve(counts(4))) });
    const s = await g.scrape();
    expect(s.value('boxoffice_orders_pending')).toBe(4);
    expect(s.value('boxoffice_webhook_lag_seconds')).toBe(2);
    expect(s.value('boxoffice_authorizations_outstanding')).toBeUndefined();
  });

  it('drops what it read when the node stops reporting: elected again, it reports nothing stale', async () => {
    let reporting = true;
    let readOk = true;
    const g = setup({ exports: () => reporting, read: () => (readOk ? Promise.resolve(counts(9)) : Promise.reject(new Error('db down'))) });
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBe(9);
    reporting = false;
    g.advance(60_000);
    expect((await g.scrape()).value('boxoffice_orders_pending')).toBeUndefined();
    // Coordinator again, and the database does not answer: no value of the last term, and an age counted from now.
    reporting = true;
    readOk = false;
    g.advance(60_000);
    const s = await g.scrape();
    expect(s.value('boxoffice_orders_pending')).toBeUndefined();
    expect(s.value('boxoffice_backlog_gauges_age_seconds')).toBe(0);
    g.advance(5_000);
    expect((await g.scrape()).value('boxoffice_backlog_gauges_age_seconds')).toBe(5);
  });
});
