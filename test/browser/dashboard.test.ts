import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { snapshotFrame } from '../../src/dashboard/dashboard-feed.js';
import type { StreamStart } from '../../src/http/request.js';
import { startCluster, type TestCluster } from '../support/cluster-harness.js';
import { repoRoot } from '../support/ensure-built.js';
import { startTestNode, stock, testAddress, testAdminToken, type TestNode } from '../support/node-harness.js';
import { owners, settled } from '../integration/cluster/cluster-support.js';

/**
 * The dashboard page in real headless Chromium (Debian's `chromium` package, driven by playwright-core; never a
 * downloaded browser): log in (a wrong token refused, the token never in the URL, localStorage or a cookie), watch a
 * sale move the throughput chart, move a partition from the page and see it moved. Screenshots after each step go
 * to test-artifacts/dashboard/ (docs/dashboard.md). Skipped only when /usr/bin/chromium is absent; .ci/run
 * installs it.
 */
const chromiumPath = '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const artifacts = join(repoRoot, 'test-artifacts', 'dashboard');
const title = haveChromium ? 'the dashboard in headless Chromium' : `the dashboard in headless Chromium (SKIPPED: ${chromiumPath} is not installed; apt-get install chromium)`;

/**
 * What the predicates below use of the page (they run in Chromium, where these exist; the tests are compiled without
 * the DOM library). Predicates are functions, not strings: the page's Content-Security-Policy forbids eval.
 */
declare const document: {
  getElementById(id: string): { textContent: string | null; dataset: Record<string, string | undefined> } | null;
  querySelector(selector: string): { textContent: string | null } | null;
};

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** A fresh page that fails the test on any console error (a Content-Security-Policy violation is one). */
async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}

async function logIn(page: Page, token: string): Promise<void> {
  await page.fill('#token', token);
  await page.click('#login-button');
}

/** The console errors besides Chromium's note of each refused request the test provoked ("…a status of 403…"). */
const unexpected = (errors: string[], ...statuses: number[]): string[] =>
  errors.filter((e) => !statuses.some((s) => e === `Failed to load resource: the server responded with a status of ${s} (${statusText[s]})`));
const statusText: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 409: 'Conflict', 503: 'Service Unavailable' };

describe.skipIf(!haveChromium)(title, () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('on one node', () => {
    let t: TestNode;
    beforeAll(async () => {
      t = await startTestNode();
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('refuses a wrong token, keeps the right one out of URLs and storage, and shows a sale in the charts', async () => {
      const errors: string[] = [];
      const page = await openPage(browser, errors);
      await page.goto(`${t.base}/dashboard`);
      await page.waitForSelector('#login-form', { state: 'visible' });
      await shot(page, '01-login');

      await logIn(page, 'not-the-admin-token');
      await page.waitForFunction(() => (document.getElementById('login-error')?.textContent ?? '').includes('FORBIDDEN'));
      expect(await page.isVisible('#board')).toBe(false);
      expect(await page.evaluate(`sessionStorage.length + localStorage.length`)).toBe(0);
      await shot(page, '02-wrong-token');

      await logIn(page, testAdminToken);
      await page.waitForFunction((id) => (document.getElementById('node-id')?.textContent ?? '') === id, t.config.nodeId);
      expect(await page.isVisible('#login')).toBe(false);
      const stored = await page.evaluate(`({ local: localStorage.length, cookie: document.cookie, session: sessionStorage.getItem('boxoffice.adminToken'), url: location.href })`);
      expect(stored).toEqual({ local: 0, cookie: '', session: testAdminToken, url: `${t.base}/dashboard` });
      await shot(page, '03-logged-in');

      await stock(t, 'BROWSER-1', 100);
      for (let i = 0; i < 12; i++) {
        const r = await t.call('POST', '/api/checkout', { items: [{ sku: 'BROWSER-1', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': `browser-sale-${i}` });
        expect(r.status).toBe(201);
      }
      // The stream's next snapshots carry the sale: the counter, the chart's peak and the p99 move, without a reload.
      await page.waitForFunction(() => Number(document.getElementById('checkouts-window')?.textContent ?? '') >= 12, undefined, { timeout: 15_000 });
      await page.waitForFunction(() => Number(document.getElementById('chart-throughput')?.dataset['max']) > 0);
      await page.waitForFunction(() => Number(document.getElementById('p99-max')?.textContent ?? '') > 0);
      expect(await page.evaluate(`performance.getEntriesByType('navigation').length`)).toBe(1);
      expect(page.url()).not.toContain(testAdminToken);
      await shot(page, '04-after-sale');

      await page.click('#logout');
      await page.waitForSelector('#login-form', { state: 'visible' });
      expect(await page.evaluate(`sessionStorage.length + localStorage.length`)).toBe(0);
      await shot(page, '05-logged-out');
      expect(unexpected(errors, 403)).toEqual([]);
      await page.close();
    }, 60_000);

    it('runs an action only on Confirm, shows its refusal, and renders hostile input as text', async () => {
      const errors: string[] = [];
      const page = await openPage(browser, errors);
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto(`${t.base}/dashboard`);
      await logIn(page, testAdminToken);
      await page.waitForSelector('#board', { state: 'visible' });

      const hostile = '<img id="injected" src="x" onerror="alert(1)">';
      await page.fill('#isolate-sku', hostile);
      await page.click('#isolate-button');
      await page.waitForSelector('#confirm', { state: 'visible' });
      expect(await page.textContent('#confirm-text')).toBe(`Isolate SKU ${hostile}: give its partition a node of its own?`);
      expect(await page.$('#injected')).toBeNull();
      await page.click('#confirm-no');
      await page.waitForFunction(() => (document.getElementById('action-result')?.textContent ?? '') === 'Cancelled.');

      await page.click('#isolate-button');
      await page.click('#confirm-yes');
      await page.waitForFunction(() => (document.getElementById('action-result')?.textContent ?? '').startsWith('Refused: VALIDATION_FAILED (400)'));
      await page.fill('#isolate-sku', 'BROWSER-1');
      await page.click('#isolate-button');
      await page.click('#confirm-yes');
      // A node alone has no cluster to isolate in: the API's code is shown as it is.
      await page.waitForFunction(() => (document.getElementById('action-result')?.textContent ?? '').startsWith('Refused: CLUSTER_DISABLED (409)'));
      await shot(page, '06-refused-action');
      expect(await page.$('#injected')).toBeNull();
      expect(dialogs).toEqual([]);
      expect(unexpected(errors, 400, 409)).toEqual([]);
      await page.close();
    }, 60_000);

    it('opens one stream for a login form submitted twice at once', async () => {
      const feed = t.node.services.dashboard.feed;
      await vi.waitFor(() => expect(feed.open()).toBe(0), { timeout: 10_000, interval: 50 });
      const errors: string[] = [];
      const page = await openPage(browser, errors);
      const seen = { snapshotRequests: 0, snapshotsOk: 0, streamRequests: 0, streamStarts: 0 };
      page.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (path === '/api/admin/dashboard') seen.snapshotRequests++;
        if (path === '/api/admin/dashboard/stream') seen.streamRequests++;
      });
      page.on('response', (r) => {
        if (new URL(r.url()).pathname === '/api/admin/dashboard' && r.status() === 200) seen.snapshotsOk++;
      });
      const start = feed.start;
      (feed as { start: StreamStart }).start = (sink) => (seen.streamStarts++, start(sink));
      try {
        await page.goto(`${t.base}/dashboard`);
        await page.waitForSelector('#login-form', { state: 'visible' });
        await page.fill('#token', testAdminToken);
        await page.evaluate(`{ const form = document.getElementById('login-form'); form.requestSubmit(); form.requestSubmit(); }`);
        await page.waitForSelector('#board', { state: 'visible' });
        // Settled: every login asked for its snapshot got it and opened its stream, and every stream reached the node.
        await vi.waitFor(() => {
          expect(seen.snapshotsOk).toBeGreaterThanOrEqual(1);
          expect(seen.snapshotsOk).toBe(seen.snapshotRequests);
          expect(seen.streamRequests).toBe(seen.snapshotsOk);
          expect(seen.streamStarts).toBe(seen.streamRequests);
        }, { timeout: 10_000, interval: 50 });
        await vi.waitFor(() => expect(feed.open()).toBe(1), { timeout: 5_000, interval: 50 });
        await page.click('#logout');
        await vi.waitFor(() => expect(feed.open()).toBe(0), { timeout: 5_000, interval: 50 });
      } finally {
        (feed as { start: StreamStart }).start = start;
      }
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);

    it('keeps the saved token through a 503 at login, and logs in again after its Retry-After', async () => {
      const errors: string[] = [];
      const page = await openPage(browser, errors);
      await page.goto(`${t.base}/dashboard`);
      await logIn(page, testAdminToken);
      await page.waitForSelector('#board', { state: 'visible' });
      let asked = 0;
      await page.route('**/api/admin/dashboard', (route) => {
        if (asked++ > 0) return route.continue();
        const body = JSON.stringify({ error: { code: 'NOT_READY', message: 'The node is recovering; retry shortly.' } });
        return route.fulfill({ status: 503, headers: { 'retry-after': '1' }, contentType: 'application/json', body });
      });
      await page.reload();
      await page.waitForFunction(() => (document.getElementById('login-error')?.textContent ?? '').includes('NOT_READY (503)'));
      expect(await page.evaluate(`sessionStorage.getItem('boxoffice.adminToken')`)).toBe(testAdminToken);
      await page.waitForFunction((id) => (document.getElementById('node-id')?.textContent ?? '') === id, t.config.nodeId, { timeout: 10_000 });
      expect(asked).toBe(2);
      expect(await page.isVisible('#login')).toBe(false);
      expect(unexpected(errors, 503)).toEqual([]);
      await page.close();
    }, 60_000);

    it('shows hostile strings of a snapshot as text, and runs none of them', async () => {
      const hostile = '<img src=x onerror=window.__pwned=1>';
      const real = (await t.admin('GET', '/api/admin/dashboard')).body;
      const first = {
        ...real,
        cluster: { ...real.cluster, nodeId: hostile, nodes: [{ ...real.cluster.nodes[0], nodeId: hostile }], partitions: [{ ...real.cluster.partitions[0], nodeId: hostile }] },
        metrics: { ...real.metrics, hotSkus: [{ sku: hostile, available: 1, checkoutsPerS: 1 }], provider: { ...real.metrics.provider, errors: [{ call: hostile, kind: hostile, count: 1 }] } },
        expiringHolds: [{ sku: hostile, holdId: hostile, qty: 1, expiresInS: 5 }],
        pendingOrders: { error: hostile },
        drops: { error: hostile },
      };
      const next = { ...first, cluster: { error: hostile }, pendingOrders: [{ orderId: hostile, ageS: 1, total: 100, currency: 'USD' }] };
      const errors: string[] = [];
      const page = await openPage(browser, errors);
      await page.route('**/api/admin/dashboard', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(first) }));
      await page.route('**/api/admin/dashboard/stream', (route) => route.fulfill({ status: 200, contentType: 'text/event-stream', body: `: test\n\n${snapshotFrame(next)}` }));
      await page.goto(`${t.base}/dashboard`);
      await logIn(page, testAdminToken);
      await page.waitForFunction((text) => document.getElementById('cluster-error')?.textContent === text, `cluster view unavailable: ${hostile}`);
      const cell = (table: string, col: number) => page.textContent(`#${table} tbody tr td[data-col="${col}"]`);
      expect(await page.textContent('#node-id')).toBe(hostile);
      expect(await Promise.all([cell('nodes', 0), cell('partitions', 1), cell('hot-skus', 0), cell('provider-errors', 0), cell('provider-errors', 1)])).toEqual([hostile, hostile, hostile, hostile, hostile]);
      expect(await Promise.all([cell('expiring-holds', 0), cell('expiring-holds', 1), cell('pending', 0), cell('drops', 0)])).toEqual([hostile, hostile, hostile, `unavailable: ${hostile}`]);
      expect(await page.evaluate(`({ images: document.querySelectorAll('img').length, pwned: typeof window.__pwned })`)).toEqual({ images: 0, pwned: 'undefined' });
      await shot(page, '07-hostile-snapshot');
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  });

  describe('on a cluster of two nodes', () => {
    let c: TestCluster;
    beforeAll(async () => {
      c = await startCluster({ nodes: 2, partitions: 16 });
      await settled(c, 2);
    }, 60_000);
    afterAll(async () => {
      await c?.stop();
    });

    it('moves a partition from the page, after a confirmation, and shows its new owner', async () => {
      const errors: string[] = [];
      const page = await openPage(browser, errors);
      await page.goto(`${c.url(0)}/dashboard`);
      await logIn(page, c.adminToken);
      await page.waitForSelector('#partitions tbody tr');
      const before = await owners(c);
      const [partition, from] = [...before].find(([, o]) => o.nodeId === c.nodes[0]!.id)!;
      const to = c.nodes[1]!.id;
      await page.waitForSelector(`#move-to option[value="${to}"]`, { state: 'attached' });
      await shot(page, '11-cluster');

      await page.fill('#move-partition', String(partition));
      await page.selectOption('#move-to', to);
      await page.click('#move-button');
      await page.waitForSelector('#confirm', { state: 'visible' });
      expect(await page.textContent('#confirm-text')).toBe(`Move partition ${partition} from ${from.nodeId} to ${to}?`);
      // Nothing moves before the confirmation.
      expect((await owners(c)).get(partition)?.nodeId).toBe(from.nodeId);
      await shot(page, '12-confirm-move');

      await page.click('#confirm-yes');
      await page.waitForFunction(() => (document.getElementById('action-result')?.textContent ?? '').startsWith('Done'), undefined, { timeout: 30_000 });
      const after = await owners(c);
      expect(after.get(partition)).toMatchObject({ nodeId: to });
      expect(after.get(partition)!.epoch).toBeGreaterThan(from.epoch);
      const ownerCell = `#partitions tr[data-key="${partition}"] td[data-col="1"]`;
      await page.waitForFunction(([cell, id]) => document.querySelector(cell)?.textContent === id, [ownerCell, to] as const, { timeout: 15_000 });
      await shot(page, '13-moved');

      // Drain asks first too; Cancel leaves the node as it was.
      await page.click(`#nodes button[data-node="${to}"]`);
      expect(await page.textContent('#confirm-text')).toBe(`Drain node ${to}: move every partition off it and keep it empty?`);
      await page.click('#confirm-no');
      const status = await c.admin(0, 'GET', '/api/admin/cluster');
      expect(status.body.members.map((m: { drained: boolean }) => m.drained)).toEqual([false, false]);
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);
  });
});
