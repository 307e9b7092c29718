import { performance } from 'node:perf_hooks';
import { benchProduct } from '../lib/catalog-import.js';
import { countOf, opLatency, phaseNamed, phaseSeconds, rate } from '../lib/load-math.js';
import type { LoadSummary } from '../lib/load-stats.js';
import type { LoadRun } from '../lib/load-client.js';
import { paymentsTable, paymentsVariant } from '../lib/payments-table.js';
import { cpuBetween, startCpuSampler, type CpuSample, type CpuSampler } from '../lib/process-cpu.js';
import { runContender, type BenchEnv, type Live, type LoadOptions } from '../lib/run-contender.js';
import { ratiosFor, type Check, type RunRecord } from '../lib/run-record.js';
import { sellers, type Scenario } from '../lib/scenario.js';
import type { ContenderKind, PaymentProviderKind } from '../lib/servers.js';
import { stripeServerNiceness, stripeSidecar } from '../lib/stripe-sidecar.js';
import { sleep, waitForSoldOut, warmupSeconds } from '../lib/waits.js';

/**
 * flash-hot: one SKU, 256 connections of buy-now checkouts, until it sells out, then some seconds of sold-out
 * traffic. Reports orders/s during the sale (orders ÷ time to the last order), sold-out answers/s after, and the
 * latency of orders (p50/p99/p999). Stock 10,000 and 100,000 (quick: 2,000), payment latency 0 and 50 ms.
 *
 * Full runs add a paced run per contender at 80 % of the orders/s that contender just reached: the issue's
 * "p99 checkout latency at 80 % of peak throughput" (an open-throttle run only shows latency under overload).
 *
 * With `--payments simulated,stripe` boxoffice runs once per payment provider in each variant: its simulated provider,
 * and its Stripe adapter against the Stripe test server started for that run (bench/lib/stripe-sidecar.ts) answering
 * after the same latency; the table "boxoffice by payment provider" divides the two. The contenders have only the
 * simulated provider. Every run also records the CPU the server (and the test server) used during the sale.
 */
export const flashHotSku = 'FLASH-1';
export const flashHotConnections = 256;
const stocksFull = [10_000, 100_000];
const stocksQuick = [2_000];
const paymentLatenciesMs = [0, 50];
const soldOutSecondsFull = 10;
const soldOutSecondsQuick = 3;
/** A sale that has not sold out after this long is stopped and reported as such (pg-for-update at 50 ms is slow). */
const saleSecondsMaxFull = 900;
const saleSecondsMaxQuick = 30;
/** The paced run's rate as a share of the contender's own peak orders/s. */
const pacedShareOfPeak = 0.8;

export const flashHotMetrics = [
  { name: 'ordersPerSec', higherIsBetter: true },
  { name: 'soldOutAnswersPerSec', higherIsBetter: true },
  { name: 'orderP99Ms', higherIsBetter: false },
];

export interface FlashHotRun {
  stock: number;
  paymentLatencyMs: number;
  contender: ContenderKind;
  /** boxoffice's payment provider (default simulated): stripe starts the Stripe test server as the run's sidecar. */
  payments?: PaymentProviderKind;
  quick: boolean;
  scenario: string;
  variantPrefix?: string;
  /** Paced: checkouts per second over all connections (open throttle when absent). */
  ratePerSec?: number;
  /** boxoffice only: nodes of a cluster, the connections shared out over them (default 1: one server). */
  nodes?: number;
  /** Something done while the sale runs (scale: a partition move); its figures and checks join the run's. */
  duringSale?: SaleAction;
}

/**
 * An action alongside the sale. `run` starts with the load; `saleOver` settles with the load's summary once the load
 * stopped (or rejects when the sale failed), so the action can read the whole run before it answers.
 */
export interface SaleAction {
  loadOptions?: LoadOptions;
  run(live: Live, load: LoadRun, saleOver: Promise<LoadSummary>): Promise<{ metrics: Record<string, number | null>; checks: Check[] }>;
}

export function runFlashHot(env: BenchEnv, o: FlashHotRun): Promise<RunRecord> {
  const soldOutSeconds = o.quick ? soldOutSecondsQuick : soldOutSecondsFull;
  const saleSecondsMax = o.quick ? saleSecondsMaxQuick : saleSecondsMaxFull;
  const payments = o.payments ?? 'simulated';
  if (payments !== 'simulated' && o.contender !== 'boxoffice') throw new Error(`${o.contender} has only the simulated payment provider`);
  // The paced rate differs per contender (80 % of its own peak), so it is a figure, not part of the variant's name.
  const variant = paymentsVariant(`${o.variantPrefix ?? ''}stock=${o.stock} pay=${o.paymentLatencyMs}ms`, payments);
  return runContender(
    env,
    {
      scenario: o.scenario,
      variant,
      params: { stock: o.stock, paymentLatencyMs: o.paymentLatencyMs, payments, connections: flashHotConnections, soldOutSeconds, saleSecondsMax, nodes: o.nodes ?? 1, ...(o.ratePerSec === undefined ? {} : { ratePerSec: o.ratePerSec }) },
      contender: o.contender,
      ...(o.nodes === undefined ? {} : { nodes: o.nodes }),
      // With stripe the sidecar's settings select the adapter and point it at the test server, which adds the latency.
      serverEnv: payments === 'simulated' ? { SIM_PAYMENT_LATENCY_MS: String(o.paymentLatencyMs) } : {},
      ...(payments === 'stripe' ? { sidecar: stripeSidecar({ latencyMs: o.paymentLatencyMs, stock: o.stock }) } : {}),
      catalog: { count: 1, itemAt: () => benchProduct(flashHotSku, o.stock) },
      skus: [{ sku: flashHotSku, initial: o.stock }],
      settleSkus: [flashHotSku],
      expectNoHolds: true,
    },
    async (live) => {
      // A paced run also reports its p99 after a warm-up (the first seconds of a cold node run below the paced rate
      // while the JIT compiles): phase 'warmup', then 'sale', both part of the sale for every other figure.
      const paced = o.ratePerSec !== undefined;
      const sampler = startSaleCpuSampler(live);
      const load = await live.startLoad({ kind: 'buy-now', sku: flashHotSku, qty: 1 }, flashHotConnections, paced ? 'warmup' : 'sale', saleSecondsMax + soldOutSeconds + 60, o.ratePerSec, o.duringSale?.loadOptions).catch(async (err: unknown) => {
        await sampler?.stop();
        throw err;
      });
      const loadStartedMs = performance.now();
      let warmupTimer: NodeJS.Timeout | null = paced ? setTimeout(() => ((warmupTimer = null), load.setPhase('sale')), warmupSeconds(false) * 1000) : null;
      const endWarmup = () => {
        if (warmupTimer !== null) clearTimeout(warmupTimer);
        warmupTimer = null;
      };
      let endSale: (summary: LoadSummary) => void = () => {};
      let failSale: (err: unknown) => void = () => {};
      const saleOver = new Promise<LoadSummary>((resolve, reject) => ((endSale = resolve), (failSale = reject)));
      saleOver.catch(() => {}); // the action observes it; never an unhandled rejection
      const action = o.duringSale?.run(live, load, saleOver);
      action?.catch(() => {}); // awaited below once the sale is over
      let summary: LoadSummary;
      let soldOutAfter: number | null;
      try {
        soldOutAfter = await waitForSoldOut(live.server.baseUrl, flashHotSku, saleSecondsMax, load.finished).finally(endWarmup);
        if (soldOutAfter === null) live.note(`did not sell out within ${saleSecondsMax} s; the sold-out phase measures what was left`);
        else live.log(`sold out (seen after ${soldOutAfter.toFixed(1)} s); ${soldOutSeconds} s of sold-out traffic`);
        load.setPhase('sold-out');
        await sleep(soldOutSeconds * 1000);
        summary = await load.stop();
        endSale(summary);
      } catch (err) {
        failSale(err);
        throw err;
      } finally {
        await sampler?.stop();
      }
      const extra = action ? await action : null;
      const figures = flashHotFigures(summary, o.stock, soldOutAfter !== null);
      const cpu = sampler ? saleCpuFigures(sampler.samples, loadStartedMs, summary.whole.byOp['checkout']?.last2xxMs ?? null, figures['orders'] ?? 0) : {};
      const metrics = { ...figures, ...cpu, ...extra?.metrics };
      if (o.ratePerSec !== undefined) metrics['pacedRatePerSec'] = o.ratePerSec;
      return { load: summary, connections: flashHotConnections, metrics, ...(extra ? { extraChecks: async () => extra.checks } : {}) };
    },
  );
}

/**
 * CPU of the server and, in a Stripe run, of the test server, sampled from /proc while the load runs. One server
 * only: a cluster's nodes would each need their own series (scale compares them by throughput instead).
 */
function startSaleCpuSampler(live: Live): CpuSampler | null {
  if (live.servers.length !== 1) return null;
  return startCpuSampler({ server: live.server.pid, ...(live.sidecar ? { stripeServer: live.sidecar.pid } : {}) });
}

/**
 * CPU during the sale, from the load's start to its last order (the sold-out poll notices the end up to a second
 * late, and sold-out answers are cheap but many): the server's and the test server's share of one core and CPU ms per
 * order, and how busy the whole machine was. Null where /proc gave nothing.
 */
export function saleCpuFigures(samples: CpuSample[], loadStartedMs: number, lastOrderMs: number | null, orders: number): Record<string, number | null> {
  const stripe = samples.some((s) => 'stripeServer' in s.readings);
  const none = { serverCpuPct: null, serverCpuMsPerOrder: null, ...(stripe ? { stripeServerCpuPct: null, stripeServerCpuMsPerOrder: null } : {}), machineBusyPct: null };
  if (lastOrderMs === null || lastOrderMs <= 0) return none;
  const to = loadStartedMs + lastOrderMs;
  const used = (series: string) => cpuBetween(samples, series, loadStartedMs, to);
  const shareOfCore = (ms: number | null) => (ms === null ? null : Math.round((ms / lastOrderMs) * 1000) / 10);
  const perOrder = (ms: number | null) => (ms === null || orders === 0 ? null : Math.round((ms / orders) * 1000) / 1000);
  const server = used('server');
  const stripeServer = stripe ? used('stripeServer') : null;
  const busy = used('machineBusy');
  const total = used('machineTotal');
  return {
    serverCpuPct: shareOfCore(server),
    serverCpuMsPerOrder: perOrder(server),
    ...(stripe ? { stripeServerCpuPct: shareOfCore(stripeServer), stripeServerCpuMsPerOrder: perOrder(stripeServer) } : {}),
    machineBusyPct: busy === null || total === null || total === 0 ? null : Math.round((busy / total) * 1000) / 10,
  };
}

/** The headline figures of one flash-hot run (exported for scale, which reuses the scenario). */
export function flashHotFigures(summary: LoadSummary, stock: number, soldOut: boolean): Record<string, number | null> {
  const whole = summary.whole;
  const after = phaseNamed(summary, 'sold-out');
  const orders = countOf(whole, 'checkout', (s) => s === 201);
  // The sale lasts until the last order was acknowledged: the sold-out poll only notices it up to a second late.
  const lastOrderMs = whole.byOp['checkout']?.last2xxMs ?? null;
  const orderLatency = opLatency(whole, 'checkout', '2xx');
  // Only paced runs have a warm-up phase; their p99 after it leaves the cold start out.
  const afterWarmup = summary.phases.some((p) => p.name === 'warmup') ? opLatency(phaseNamed(summary, 'sale'), 'checkout', '2xx') : null;
  const soldOutLatency = opLatency(after, 'checkout', '4xx');
  // Headline figures first: the summary table and the Markdown columns follow this order.
  return {
    ordersPerSec: lastOrderMs === null ? null : rate(orders, lastOrderMs / 1000),
    soldOutAnswersPerSec: rate(countOf(after, 'checkout', (s) => s === 409), phaseSeconds(after)),
    orderP50Ms: orderLatency?.p50Ms ?? null,
    orderP99Ms: orderLatency?.p99Ms ?? null,
    orderP999Ms: orderLatency?.p999Ms ?? null,
    orderP99AfterWarmupMs: afterWarmup?.p99Ms ?? null,
    soldOutP99Ms: soldOutLatency?.p99Ms ?? null,
    checkoutP99Ms: opLatency(whole, 'checkout')?.p99Ms ?? null,
    orders,
    stock,
    saleSeconds: lastOrderMs === null ? null : Math.round(lastOrderMs) / 1000,
    soldOut: soldOut ? 1 : 0,
  };
}

export const flashHot: Scenario = {
  name: 'flash-hot',
  description: 'one hot SKU, 256 connections of buy-now checkouts until sold out, then sold-out traffic',
  async run(env, opts) {
    const stocks = opts.quick ? stocksQuick : stocksFull;
    const runs: RunRecord[] = [];
    for (const stock of stocks) {
      for (const paymentLatencyMs of paymentLatenciesMs) {
        for (const contender of sellers(opts.contenders)) {
          for (const payments of providersOf(contender, opts.payments)) {
            const open = await runFlashHot(env, { stock, paymentLatencyMs, contender, payments, quick: opts.quick, scenario: 'flash-hot' });
            runs.push(open);
            const peak = open.metrics['ordersPerSec'] ?? null;
            if (!opts.quick && open.status === 'passed' && peak !== null && peak >= 1) {
              const ratePerSec = Math.max(1, Math.round(peak * pacedShareOfPeak));
              runs.push(await runFlashHot(env, { stock, paymentLatencyMs, contender, payments, quick: false, scenario: 'flash-hot', ratePerSec, variantPrefix: '80% of peak: ' }));
            }
          }
        }
      }
    }
    const table = paymentsTable(runs);
    return {
      scenario: 'flash-hot',
      description: flashHot.description,
      settings: { stocks, paymentLatenciesMs, payments: opts.payments, connections: flashHotConnections, soldOutSeconds: opts.quick ? soldOutSecondsQuick : soldOutSecondsFull },
      runs,
      ratios: ratiosFor(runs, flashHotMetrics),
      ...(table ? { tables: [table] } : {}),
      notes: [
        ...paymentNotes(opts.payments, sellers(opts.contenders)),
        'ordersPerSec = confirmed orders ÷ seconds from the first request to the last order acknowledged.',
        opts.quick
          ? 'p99 at 80 % of peak: not measured with --quick (a full run adds one paced run per contender).'
          : "'80% of peak' runs are paced at 80 % of that contender's own open-throttle orders/s: the issue's latency figure. orderP99Ms covers the whole paced sale, cold start included; orderP99AfterWarmupMs leaves out its first 3 s (JIT warm-up, as the steady-state scenarios do).",
        'soldOutAnswersPerSec = 409 OUT_OF_STOCK answers per second in the sold-out phase.',
        'serverCpuPct, serverCpuMsPerOrder and machineBusyPct cover the sale (from the load\'s start to its last order), from /proc; % of one core for a process, of all cores for the machine.',
        // What each Stripe run's test server saw (requests by endpoint, replays), which the Markdown shows only here.
        ...runs.flatMap((r) => (r.params['payments'] === 'stripe' ? r.notes.map((n) => `${r.variant}: ${n}`) : [])),
      ],
    };
  },
};

/** boxoffice runs with every provider asked for; the contenders have only the simulated one. */
function providersOf(contender: ContenderKind, payments: PaymentProviderKind[]): PaymentProviderKind[] {
  if (contender === 'boxoffice') return payments;
  return payments.includes('simulated') ? ['simulated'] : [];
}

function paymentNotes(payments: PaymentProviderKind[], contenders: ContenderKind[]): string[] {
  if (!payments.includes('stripe')) return [];
  const others = contenders.filter((c) => c !== 'boxoffice');
  return [
    `payments=stripe: boxoffice with PAYMENT_PROVIDER=stripe, its Stripe adapter pointed (STRIPE_API_BASE) at a fresh Stripe test server (test/stripe-server) per run, in its own process at niceness ${stripeServerNiceness} (the node's), answering after the variant's pay latency (latencyMs). Webhooks are recorded by the test server, not sent. After each such run the test server is audited: at most one PaymentIntent per idempotency key and per checkout, and every confirmed order's PaymentIntent in requires_capture for the order's total (a violation fails the run).`,
    ...(others.length > 0 && !payments.includes('simulated') ? [`${others.join(', ')}: not run (they have only the simulated provider, and --payments left it out).`] : []),
  ];
}
