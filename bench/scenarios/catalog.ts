import { benchProduct } from '../lib/catalog-import.js';
import { countOf, opLatency, phaseNamed, phaseSeconds, rate } from '../lib/load-math.js';
import type { LoadSummary } from '../lib/load-stats.js';
import { runContender, type BenchEnv } from '../lib/run-contender.js';
import { ratiosFor, type RunRecord } from '../lib/run-record.js';
import { sellers, type Scenario } from '../lib/scenario.js';
import type { ContenderKind } from '../lib/servers.js';
import { sleep, warmupSeconds } from '../lib/waits.js';
import { catalogSku } from '../lib/workloads.js';

/**
 * catalog: many SKUs with Zipf popularity (100,000; quick: 10,000). Each connection fills a cart with 1–5
 * Zipf-picked SKUs (POST /api/cart/items, the first creates the cart) and checks it out by cartId. The popular head
 * sells out during the run, so the mix holds orders, sold-out refusals and cart traffic, like a real sale.
 */
const connections = 256;
const skuCountFull = 100_000;
const skuCountQuick = 10_000;
/** Stock per SKU: the head sells out within seconds, the tail never does. */
const onHandPerSku = 100;
/** s = 1: the classic web-popularity exponent; the top SKU gets ~8 % of picks among 100,000. */
const zipfExponent = 1;
const cartItemsMin = 1;
const cartItemsMax = 5;
const secondsFull = 60;
const secondsQuick = 10;
/** Fixed, so two runs (and two contenders) see the same sequence of carts per connection. */
const seed = 20_240_601;

export const catalogMetrics = [
  { name: 'checkoutsPerSec', higherIsBetter: true },
  { name: 'requestsPerSec', higherIsBetter: true },
  { name: 'checkoutP99Ms', higherIsBetter: false },
];

export interface CatalogRun {
  contender: ContenderKind;
  quick: boolean;
  scenario: string;
  variantPrefix?: string;
  /** Measured seconds, when the caller needs a shorter run than the scenario's own (scale --quick). */
  seconds?: number;
  /** boxoffice only: nodes of a cluster, the connections shared out over them (default 1: one server). */
  nodes?: number;
}

/** SKUs in the catalog (quick or full): part of the variant's name. */
export const catalogSkuCount = (quick: boolean): number => (quick ? skuCountQuick : skuCountFull);

export function runCatalog(env: BenchEnv, o: CatalogRun): Promise<RunRecord> {
  const skuCount = catalogSkuCount(o.quick);
  const seconds = o.seconds ?? (o.quick ? secondsQuick : secondsFull);
  const skus = Array.from({ length: skuCount }, (_, i) => ({ sku: catalogSku(i + 1), initial: onHandPerSku }));
  return runContender(
    env,
    {
      scenario: o.scenario,
      variant: `${o.variantPrefix ?? ''}skus=${skuCount}`,
      params: { skuCount, onHandPerSku, zipfExponent, cartItemsMin, cartItemsMax, connections, seconds, warmupSeconds: warmupSeconds(o.quick), seed, nodes: o.nodes ?? 1 },
      contender: o.contender,
      ...(o.nodes === undefined ? {} : { nodes: o.nodes }),
      serverEnv: { SIM_PAYMENT_LATENCY_MS: '0' },
      catalog: { count: skuCount, itemAt: (i) => benchProduct(catalogSku(i + 1), onHandPerSku) },
      skus,
      settleSkus: skus.slice(0, 5).map((s) => s.sku),
      expectNoHolds: true,
    },
    async (live) => {
      const warmup = warmupSeconds(o.quick);
      const load = await live.startLoad({ kind: 'cart-checkout', skuCount, zipfExponent, cartItemsMin, cartItemsMax, seed }, connections, 'warmup', warmup + seconds + 60);
      await sleep(warmup * 1000);
      load.setPhase('shopping');
      await sleep(seconds * 1000);
      const summary = await load.stop();
      return { load: summary, connections, metrics: catalogFigures(summary) };
    },
  );
}

export function catalogFigures(summary: LoadSummary): Record<string, number | null> {
  const w = phaseNamed(summary, 'shopping');
  const secs = phaseSeconds(w);
  return {
    checkoutsPerSec: rate(countOf(w, 'checkout', (s) => s === 201), secs),
    outOfStockPerSec: rate(countOf(w, 'checkout', (s) => s === 409), secs),
    cartAddsPerSec: rate(countOf(w, 'cart-add', (s) => s === 200 || s === 201), secs),
    requestsPerSec: rate(w?.responses ?? 0, secs),
    checkoutP50Ms: opLatency(w, 'checkout', '2xx')?.p50Ms ?? null,
    checkoutP99Ms: opLatency(w, 'checkout', '2xx')?.p99Ms ?? null,
    checkoutP999Ms: opLatency(w, 'checkout', '2xx')?.p999Ms ?? null,
    cartAddP99Ms: opLatency(w, 'cart-add', '2xx')?.p99Ms ?? null,
  };
}

export const catalog: Scenario = {
  name: 'catalog',
  description: 'Zipf-popular SKUs, carts of 1–5 items: add-to-cart then checkout by cartId',
  async run(env, opts) {
    const runs: RunRecord[] = [];
    for (const contender of sellers(opts.contenders)) runs.push(await runCatalog(env, { contender, quick: opts.quick, scenario: 'catalog' }));
    return {
      scenario: 'catalog',
      description: catalog.description,
      settings: { skuCount: opts.quick ? skuCountQuick : skuCountFull, onHandPerSku, zipfExponent, cartItemsMin, cartItemsMax, connections, seconds: opts.quick ? secondsQuick : secondsFull, seed },
      runs,
      ratios: ratiosFor(runs, catalogMetrics),
      notes: ['A refused add-to-cart abandons that cart (the connection starts a new one); checkoutsPerSec counts 201 orders.'],
    };
  },
};
