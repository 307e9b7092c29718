import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dashboardLimits } from '../../../src/config/limits.js';
import type { HttpRequest } from '../../../src/http/request.js';
import { getStream } from '../../../src/http/routes/dashboard-routes.js';
import { startTestNode, stock, testAddress, testAdminToken, type TestNode } from '../../support/node-harness.js';

/**
 * The dashboard's routes on a real node: the page and its assets under strict security headers and without a token,
 * the snapshot and the event stream behind the admin token, the stream bound, and streams ending when the client
 * goes away or the node closes. The page itself runs in Chromium in test/browser/dashboard.test.ts.
 */
const bearer = { authorization: `Bearer ${testAdminToken}` };

/** Reads a stream until `until` holds on the text read so far; returns that text. */
async function readUntil(body: ReadableStream<Uint8Array>, until: (text: string) => boolean): Promise<{ text: string; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!until(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after: ${text.slice(0, 200)}`);
    text += decoder.decode(value, { stream: true });
  }
  return { text, reader };
}

const firstSnapshot = (text: string): unknown => {
  const frame = /event: snapshot\ndata: (.*)\n\n/.exec(text);
  return frame ? JSON.parse(frame[1]!) : undefined;
};

describe('the dashboard routes', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each([
    ['/dashboard', 'text/html; charset=utf-8'],
    ['/dashboard/app.js', 'text/javascript; charset=utf-8'],
    ['/dashboard/app.css', 'text/css; charset=utf-8'],
  ])('serves %s without a token, under strict security headers', async (path, contentType) => {
    const r = await fetch(t.base + path);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(contentType);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const text = await r.text();
    // Nothing from another origin, no inline script or style the policy would block.
    expect(text.replaceAll("'http://www.w3.org/2000/svg'", '')).not.toMatch(/https?:\/\//);
    if (path === '/dashboard') {
      expect(text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(text).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      expect(text).toContain('type="password"');
    }
  });

  it('answers the snapshot only with the admin token', async () => {
    expect((await t.call('GET', '/api/admin/dashboard')).status).toBe(401);
    expect((await t.call('GET', '/api/admin/dashboard', undefined, { authorization: 'Bearer not-the-token' })).status).toBe(403);
    const r = await t.admin('GET', '/api/admin/dashboard');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body.cluster).toMatchObject({ nodeId: t.config.nodeId, mode: 'single', nodes: [{ nodeId: t.config.nodeId, alive: true, draining: false }] });
    expect(r.body.cluster.partitions).toHaveLength(64);
    expect(r.body.rates.intervalMs).toBe(dashboardLimits.snapshotIntervalMs);
    // Every metric-backed panel reads this node's registry (docs/metrics.md): numbers, none of them absent.
    expect(r.body.metrics.lag).toEqual({ outboxS: expect.any(Number), webhookS: expect.any(Number) });
    expect(r.body.metrics.holds).toEqual({ active: 0, pinned: 0 });
    expect([r.body.metrics.oversoldUnits, r.body.metrics.oversoldNewUnits]).toEqual([0, 0]);
    expect(r.body.metrics.partitionsServed).toBe(64);
    expect(r.body.metrics.pendingOrders).toEqual({ count: expect.any(Number), oldestAgeS: expect.any(Number) });
    expect(r.body.metrics.authorizations).toEqual({ outstanding: expect.any(Number), oldestAgeS: expect.any(Number) });
    for (const row of r.body.metrics.provider.latency) expect(row).toEqual({ call: expect.any(String), p99Ms: expect.any(Number), count: expect.any(Number) });
    expect(Array.isArray(r.body.pendingOrders)).toBe(true);
    expect(r.body.drops).toEqual([]);
  });

  it('counts a sale in the throughput series and lists a drop held here', async () => {
    await stock(t, 'DASH-1', 10);
    const sale = await t.call('POST', '/api/checkout', { items: [{ sku: 'DASH-1', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'dash-sale-1' });
    expect(sale.status).toBe(201);
    const sold = await vi.waitFor(async () => {
      const r = await t.admin('GET', '/api/admin/dashboard');
      const samples = r.body.rates.samples as { salesPerS: number; p99Ms: number | null }[];
      expect(samples.some((s) => s.salesPerS > 0 && s.p99Ms !== null && s.p99Ms > 0)).toBe(true);
      return samples;
    }, { timeout: 5_000, interval: 200 });
    expect(sold.length).toBeLessThanOrEqual(dashboardLimits.rateSamplesMax);

    await stock(t, 'DASH-DROP', 5);
    expect((await t.admin('PUT', '/api/drops/DASH-DROP', { startsAt: new Date(Date.now() + 3_600_000).toISOString(), perCustomerLimit: 1, admissionTtlMs: 10_000 })).status).toBe(200);
    expect((await t.call('POST', '/api/drops/DASH-DROP/queue', { customerId: 'dash-1' })).status).toBe(202);
    await vi.waitFor(async () => {
      const r = await t.admin('GET', '/api/admin/dashboard');
      expect(r.body.drops).toEqual([{ sku: 'DASH-DROP', state: 'scheduled', queued: 1, admitted: 0, sold: 0, remaining: 5 }]);
    }, { timeout: 5_000, interval: 200 });
  });

  it('lists the holds about to expire, soonest first', async () => {
    await stock(t, 'DASH-HOLD', 10);
    const later = await t.admin('POST', '/api/inventory/DASH-HOLD/holds', { qty: 3, ttlMs: 600_000 });
    const sooner = await t.admin('POST', '/api/inventory/DASH-HOLD/holds', { qty: 2, ttlMs: 300_000 });
    expect([later.status, sooner.status]).toEqual([201, 201]);
    // Built at most once per snapshotCacheMs: a snapshot cached before the holds may answer first.
    await vi.waitFor(async () => {
      const r = await t.admin('GET', '/api/admin/dashboard');
      const holds = r.body.expiringHolds as { sku: string; holdId: string; qty: number; expiresInS: number }[];
      expect(holds.filter((h) => h.sku === 'DASH-HOLD').map((h) => [h.holdId, h.qty])).toEqual([[sooner.body.holdId, 2], [later.body.holdId, 3]]);
      expect(holds.find((h) => h.holdId === sooner.body.holdId)!.expiresInS).toBeGreaterThan(250);
    }, { timeout: 5_000, interval: 200 });
    expect((await t.admin('DELETE', `/api/inventory/DASH-HOLD/holds/${String(sooner.body.holdId)}`)).status).toBe(200);
  });

  it('lists the oldest pending orders from PostgreSQL', async () => {
    await stock(t, 'DASH-PENDING', 5);
    const pending = await t.call('POST', '/api/checkout', { items: [{ sku: 'DASH-PENDING', qty: 2 }], paymentMethod: 'pm_card_authenticationRequired', address: testAddress }, { 'idempotency-key': 'dash-pending-1' });
    expect(pending.status).toBe(202);
    const order = await t.call('GET', `/api/orders/${pending.body.orderId}`);
    expect(order.body.status).toBe('pending');
    await vi.waitFor(async () => {
      const r = await t.admin('GET', '/api/admin/dashboard');
      expect(r.body.pendingOrders).toContainEqual({ orderId: pending.body.orderId, ageS: expect.any(Number), total: order.body.totals.totalMinor, currency: 'USD' });
    }, { timeout: 5_000, interval: 200 });
  });

  it('refuses the stream without the token, and with a wrong one', async () => {
    const none = await fetch(`${t.base}/api/admin/dashboard/stream`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const wrong = await fetch(`${t.base}/api/admin/dashboard/stream`, { headers: { authorization: 'Bearer wrong-token' } });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
  });

  it('streams snapshots as server-sent events, and forgets the stream when the client goes away', async () => {
    const feed = t.node.services.dashboard.feed;
    const abort = new AbortController();
    const r = await fetch(`${t.base}/api/admin/dashboard/stream`, { headers: bearer, signal: abort.signal });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const { text } = await readUntil(r.body!, (s) => (s.match(/event: snapshot\n/g) ?? []).length >= 2);
    expect(text.startsWith(': boxoffice dashboard\n\n')).toBe(true);
    expect(firstSnapshot(text)).toMatchObject({ cluster: { mode: 'single' } });
    expect(feed.open()).toBe(1);
    // The snapshot counts the open streams (cached for up to a second: one built before the stream opened may answer first).
    await vi.waitFor(async () => expect((await t.admin('GET', '/api/admin/dashboard')).body.streams).toBe(1), { timeout: 5_000, interval: 200 });
    abort.abort();
    await vi.waitFor(() => expect(feed.open()).toBe(0), { timeout: 5_000, interval: 50 });
  });

  it(`opens at most ${dashboardLimits.streamsMax} streams, then answers 429 OVERLOADED`, async () => {
    const abort = new AbortController();
    const open = await Promise.all(
      Array.from({ length: dashboardLimits.streamsMax }, () => fetch(`${t.base}/api/admin/dashboard/stream`, { headers: bearer, signal: abort.signal })),
    );
    expect(open.map((r) => r.status)).toEqual(open.map(() => 200));
    const refused = await t.call('GET', '/api/admin/dashboard/stream', undefined, bearer);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('OVERLOADED');
    expect(refused.headers.get('retry-after')).toBe('5');
    abort.abort();
    await vi.waitFor(() => expect(t.node.services.dashboard.feed.open()).toBe(0), { timeout: 5_000, interval: 50 });
    const again = await fetch(`${t.base}/api/admin/dashboard/stream`, { headers: bearer });
    expect(again.status).toBe(200);
    await again.body!.cancel();
  });
});

describe('a dashboard stream when its node closes', () => {
  it('ends', async () => {
    const t = await startTestNode();
    const r = await fetch(`${t.base}/api/admin/dashboard/stream`, { headers: bearer });
    const { reader } = await readUntil(r.body!, (s) => s.includes('event: snapshot'));
    const stopped = t.stop();
    // The node ends the response: the reader sees the end, not an error and not a hang.
    for (;;) if ((await reader.read()).done) break;
    await stopped;
    expect(t.node.services.dashboard.feed.open()).toBe(0);
    expect(t.node.services.dashboard.feed.full()).toBe(true);
    // Closing is not overload: a stream asked for now is told the node is not ready, not to back off for 5 s.
    const late = await getStream(t.node.services)({} as HttpRequest);
    expect(late.status).toBe(503);
    expect((late.body as { error: { code: string } }).error.code).toBe('NOT_READY');
  });
});
