import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scrapeMetrics, type Scrape } from '../../support/metrics-scrape.js';
import { repoRoot } from '../../support/ensure-built.js';
import { startCluster, type TestCluster } from '../../support/cluster-harness.js';
import { seededRng, seedToRun, shuffle, pick } from '../../support/seeded-random.js';
import { buyNowBody, postCheckout } from '../../support/checkout-client.js';
import { Client } from 'pg';
import { checkInvariants, eventually, owners, runSale, settled, skuPartition, stockSkus } from './cluster-support.js';

/**
 * Three node processes on one PostgreSQL and one Redis: checkouts whose SKUs live on different nodes, the same SKU
 * bought through every node, replays through another node, and partitions moved back and forth under a running
 * flash sale. Seeds replay with BO_SEED.
 */
const partitions = 32;
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 3, partitions });
  await settled(c, 3);
}, 120_000);

afterAll(async () => {
  await c?.stop();
});

describe('a cluster of three nodes', () => {
  it('sells baskets whose SKUs live on different nodes, through every node, exactly the stock', async () => {
    const seed = seedToRun(7_301);
    const rng = seededRng(seed);
    const skus = Array.from({ length: 9 }, (_, i) => `MIX-${i}`);
    const stock = new Map(skus.map((s) => [s, 12]));
    await stockSkus(c, skus.map((sku) => ({ sku, onHand: 12 })));
    const own = await owners(c);
    const nodeOf = (sku: string) => own.get(skuPartition(sku, partitions))!.nodeId;
    expect(new Set(skus.map(nodeOf)).size, 'the SKUs are spread over the nodes').toBeGreaterThan(1);
    const keys = Array.from({ length: 90 }, (_, i) => `mix-${seed}-${i}`);
    const baskets = new Map(keys.map((k) => [k, shuffle(rng, [...skus]).slice(0, 3).map((sku) => ({ sku, qty: 1 + Math.floor(rng() * 2) }))]));
    const crossNode = [...baskets.values()].filter((b) => new Set(b.map((l) => nodeOf(l.sku))).size > 1).length;
    expect(crossNode, 'baskets reserving on several nodes').toBeGreaterThan(10);

    const sale = await runSale(c, rng, keys, (k) => baskets.get(k)!, 12);
    const statuses = [...sale.answers.values()].map((a) => a.status);
    expect(statuses.every((s) => s === 201 || s === 409), `seed ${seed}: ${JSON.stringify(statuses)}`).toBe(true);
    const { confirmed } = await checkInvariants(c, sale.answers, stock);
    expect(confirmed).toBe(statuses.filter((s) => s === 201).length);
    expect(confirmed, 'some baskets sold').toBeGreaterThan(0);

    // A replay through another node answers the stored response, marked replayed.
    for (const a of [...sale.answers.values()].slice(0, 15)) {
      const again = await postCheckout(pick(rng, c.nodes).url, a.key, buyNowBody(baskets.get(a.key)!, 'pm_card_visa'));
      expect(again.status, `replay of ${a.key}`).toBe(a.status);
      expect(again.replayed).toBe(true);
      if (a.status === 201) expect(again.body.orderId).toBe(a.body.orderId);
    }
  }, 120_000);

  it('sells one SKU through every node without overselling', async () => {
    const seed = seedToRun(7_302);
    const rng = seededRng(seed);
    await stockSkus(c, [{ sku: 'ONE', onHand: 40 }]);
    const keys = Array.from({ length: 120 }, (_, i) => `one-${seed}-${i}`);
    const sale = await runSale(c, rng, keys, () => [{ sku: 'ONE', qty: 1 }], 24);
    const sold = [...sale.answers.values()].filter((a) => a.status === 201).length;
    expect(sold, `seed ${seed}`).toBe(40);
    await checkInvariants(c, sale.answers, new Map([['ONE', 40]]));

    // Sold out: every node answers from memory (the owner's sold-out gossip), so the storm writes nothing.
    const db = new Client({ connectionString: c.databaseUrl });
    await db.connect();
    try {
      const keysStored = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_keys')).rows[0]!.n;
      let round = 0;
      await eventually('sold-out answers without a write on every node', async () => {
        const before = await keysStored();
        const answers = await Promise.all(
          Array.from({ length: 30 }, (_, i) => postCheckout(c.nodes[i % 3]!.url, `storm-${seed}-${round}-${i}`, buyNowBody([{ sku: 'ONE', qty: 1 }], 'pm_card_visa'))),
        );
        round++;
        expect(answers.every((a) => a.status === 409 && a.body.error.code === 'OUT_OF_STOCK')).toBe(true);
        return (await keysStored()) === before ? true : undefined;
      }, 10_000);
    } finally {
      await db.end();
    }
  }, 120_000);

  it('keeps the total limit of a promotion exact when its uses are taken through every node exact when its uses are taken through every node', async () => {
    const seed = seedToRun(7_304);
    await stockSkus(c, [{ sku: 'PROMO-SKU', onHand: 100 }]);
    const created = await c.admin(1, 'POST', '/api/promotions', { code: 'FIVE', kind: 'percentage', percentBps: 1_000, usageLimitTotal: 5 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const keys = Array.from({ length: 30 }, (_, i) => `promo-${seed}-${i}`);
    const answers = new Map<string, { status: number; body: any }>();
    await Promise.all(
      keys.map(async (key, i) => {
        const body = { ...(buyNowBody([{ sku: 'PROMO-SKU', qty: 1 }], 'pm_card_visa') as object), promoCode: 'FIVE' };
        answers.set(key, await postCheckout(c.nodes[i % c.nodes.length]!.url, key, body));
      }),
    );
    const statuses = [...answers.values()].map((a) => `${a.status} ${a.body?.error?.code ?? ''}`.trim());
    expect(statuses.filter((s) => s === '201').length, `seed ${seed}: ${JSON.stringify(statuses)}`).toBe(5);
    expect(statuses.filter((s) => s === '422 PROMO_USAGE_LIMIT_REACHED').length).toBe(25);
  }, 120_000);

  it('drains a node and takes it back during a sale of baskets spanning nodes (many partitions move at once)', async () => {
    const seed = seedToRun(7_305);
    const rng = seededRng(seed);
    const skus = Array.from({ length: 8 }, (_, i) => `DR-${i}`);
    await stockSkus(c, skus.map((sku) => ({ sku, onHand: 60 })));
    const keys = Array.from({ length: 240 }, (_, i) => `drain-${seed}-${i}`);
    const baskets = new Map(keys.map((k) => [k, shuffle(rng, [...skus]).slice(0, 3).map((sku) => ({ sku, qty: 1 }))]));
    const drained = c.nodes[1]!.id;
    const t0 = Date.now();
    const ops: { status: number; body: any }[] = [];
    const operator = (async () => {
      ops.push(await c.admin(0, 'POST', `/api/admin/nodes/${drained}/drain`));
      ops.push(await c.admin(2, 'POST', `/api/admin/nodes/${drained}/undrain`));
    })();
    const sale = await runSale(c, rng, keys, (k) => baskets.get(k)!, 16);
    await operator;
    expect(ops.map((o) => o.status), JSON.stringify(ops.map((o) => o.body))).toEqual([200, 200]);
    expect(ops[0]!.body.moved, 'the drain moved partitions').toBeGreaterThan(0);
    console.log(`seed ${seed}: drain moved ${ops[0]!.body.moved} (pause max ${ops[0]!.body.pauseMsMax} ms), undrain moved ${ops[1]!.body.moved} (pause max ${ops[1]!.body.pauseMsMax} ms), ${sale.retried} retried requests`, Date.now() - t0);
    await checkInvariants(c, sale.answers, new Map(skus.map((s) => [s, 60])));
    await settled(c, 3);
  }, 180_000);

  it('isolates a hot SKU on a node of its own (the CLI shows it), and ends the isolation with a move and a rebalance', async () => {
    const p = skuPartition('ISO-HOT', partitions);
    const owner = (await owners(c)).get(p)!.nodeId;
    const cli = spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'boxoffice.js'), '--url', c.url(2), '--token', c.adminToken, 'isolate', 'ISO-HOT'], { encoding: 'utf8', timeout: 60_000 });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`partition ${p}`);
    const iso = await owners(c);
    expect([...iso].filter(([, o]) => o.nodeId === owner).map(([q]) => q), 'the owner keeps only the isolated partition').toEqual([p]);
    const status = spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'boxoffice.js'), '--url', c.url(0), '--token', c.adminToken, '--json', 'status'], { encoding: 'utf8', timeout: 60_000 });
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).members.find((m: { nodeId: string }) => m.nodeId === owner).isolated).toEqual([p]);

    const other = c.nodes.find((n) => n.id !== owner)!.id;
    expect((await c.admin(0, 'POST', `/api/admin/partitions/${p}/move`, { to: other })).status).toBe(200);
    expect((await c.admin(1, 'POST', '/api/admin/rebalance')).status).toBe(200);
    await settled(c, 3);
  }, 120_000);

  it('moves partitions back and forth during a flash sale: no oversell, no lost or doubled sale', async () => {
    const seed = seedToRun(7_303);
    const rng = seededRng(seed);
    const stock = 300;
    await stockSkus(c, [{ sku: 'HOT', onHand: stock }]);
    const hot = skuPartition('HOT', partitions);
    const keys = Array.from({ length: 700 }, (_, i) => `hot-${seed}-${i}`);
    const pauses: number[] = [];
    let moving = true;
    const mover = (async () => {
      const ids = c.nodes.map((n) => n.id);
      for (let i = 0; moving && i < 12; i++) {
        // The hot SKU's partition, and a few checkout partitions, hop between the nodes.
        const target = i % 2 === 0 ? hot : (hot + i) % partitions;
        const to = ids[(i + 1) % ids.length]!;
        const r = await c.admin(i % ids.length, 'POST', `/api/admin/partitions/${target}/move`, { to });
        expect([200, 503], JSON.stringify(r.body)).toContain(r.status);
        if (r.status === 200) pauses.push(r.body.pauseMs);
      }
    })();
    const sale = await runSale(c, rng, keys, () => [{ sku: 'HOT', qty: 1 }], 24);
    const movesDuringSale = pauses.length;
    moving = false;
    await mover;
    const sold = [...sale.answers.values()].filter((a) => a.status === 201).length;
    console.log(`seed ${seed}: sold ${sold}/${stock}, ${movesDuringSale} moves during the sale, pause ms ${JSON.stringify(pauses)}, ${sale.retried} retried requests`);
    expect(movesDuringSale, 'moves completed while the sale ran').toBeGreaterThanOrEqual(3);
    expect(sold).toBe(stock);
    await checkInvariants(c, sale.answers, new Map([['HOT', stock]]));
    const final = await owners(c);
    expect(final.get(hot)!.epoch, 'the hot partition changed hands').toBeGreaterThan(2);
    await c.admin(0, 'POST', '/api/admin/rebalance');
  }, 180_000);

  it('reports metrics that add up across the nodes: each partition served once, moves counted, nothing oversold', async () => {
    const scrapes = async () => Promise.all(c.nodes.map((_, i) => scrapeMetrics(c.url(i))));
    const sum = (all: Scrape[], name: string, labels?: Record<string, string>) => all.reduce((n, s) => n + (s.value(name, labels) ?? 0), 0);
    await vi.waitFor(async () => expect(sum(await scrapes(), 'boxoffice_partitions_served')).toBe(partitions), { timeout: 20_000 });
    const all = await scrapes();
    expect(sum(all, 'boxoffice_oversold_units_total')).toBe(0);
    // The moves of the tests above, each counted once, by the node that took the partition.
    expect(sum(all, 'boxoffice_partition_moves_total')).toBeGreaterThanOrEqual(3);
    expect(sum(all, 'boxoffice_partition_acquisitions_total', { reason: 'move' })).toBe(sum(all, 'boxoffice_partition_moves_total'));
    // The database backlog (orders were confirmed, their authorizations not captured) comes from one node only.
    expect(all.filter((s) => (s.value('boxoffice_authorizations_outstanding') ?? 0) > 0)).toHaveLength(1);
  }, 60_000);
});
