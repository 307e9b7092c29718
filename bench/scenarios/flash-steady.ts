import { benchProduct } from '../lib/catalog-import.js';
import { countOf, opLatency, phaseNamed, phaseSeconds, rate } from '../lib/load-math.js';
import type { LoadSummary } from '../lib/load-stats.js';
import { runContender } from '../lib/run-contender.js';
import { ratiosFor, type RunRecord } from '../lib/run-record.js';
import { sellers, type Scenario } from '../lib/scenario.js';
import { sleep, warmupSeconds } from '../lib/waits.js';
import { flashHotConnections } from './flash-hot.js';

/**
 * flash-steady: flash-hot's buy-now checkouts on one hot SKU, with so much stock (1,000,000 units) that the sale does
 * not end during the run: a warm-up, then a fixed window of steady sale. It isolates the sale's throughput and latency
 * from its cold start and its sold-out tail, which makes it the scenario to compare changes with (bench/README.md's
 * tuning log used the same workload from a script before this scenario existed). Payment latency 0 ms.
 */
const steadySku = 'STEADY-1';
const onHand = 1_000_000;
const secondsFull = 10;
const secondsQuick = 5;

export const flashSteady: Scenario = {
  name: 'flash-steady',
  description: 'one hot SKU with 1,000,000 units, 256 connections of buy-now checkouts: a steady window after a warm-up',
  async run(env, opts) {
    const seconds = opts.quick ? secondsQuick : secondsFull;
    const warmup = warmupSeconds(opts.quick);
    const runs: RunRecord[] = [];
    for (const contender of sellers(opts.contenders)) {
      runs.push(
        await runContender(
          env,
          {
            scenario: 'flash-steady',
            variant: `onHand=${onHand} pay=0ms`,
            params: { onHand, connections: flashHotConnections, seconds, warmupSeconds: warmup, paymentLatencyMs: 0 },
            contender,
            serverEnv: { SIM_PAYMENT_LATENCY_MS: '0' },
            catalog: { count: 1, itemAt: () => benchProduct(steadySku, onHand) },
            skus: [{ sku: steadySku, initial: onHand }],
            settleSkus: [steadySku],
            expectNoHolds: true,
          },
          async (live) => {
            const load = await live.startLoad({ kind: 'buy-now', sku: steadySku, qty: 1 }, flashHotConnections, 'warmup', warmup + seconds + 60);
            await sleep(warmup * 1000);
            load.setPhase('sale');
            await sleep(seconds * 1000);
            const summary = await load.stop();
            return { load: summary, connections: flashHotConnections, metrics: steadyFigures(summary) };
          },
        ),
      );
    }
    return {
      scenario: 'flash-steady',
      description: flashSteady.description,
      settings: { connections: flashHotConnections, seconds, warmupSeconds: warmup, onHand },
      runs,
      ratios: ratiosFor(runs, [
        { name: 'ordersPerSec', higherIsBetter: true },
        { name: 'orderP99Ms', higherIsBetter: false },
      ]),
      notes: ['ordersPerSec = 201 answers per second in the window after the warm-up; the SKU never sells out.'],
    };
  },
};

export function steadyFigures(summary: LoadSummary): Record<string, number | null> {
  const w = phaseNamed(summary, 'sale');
  const orders = opLatency(w, 'checkout', '2xx');
  return {
    ordersPerSec: rate(countOf(w, 'checkout', (s) => s === 201), phaseSeconds(w)),
    orderP50Ms: orders?.p50Ms ?? null,
    orderP99Ms: orders?.p99Ms ?? null,
    orderP999Ms: orders?.p999Ms ?? null,
    otherAnswersPerSec: rate(countOf(w, 'checkout', (s) => s !== 201), phaseSeconds(w)),
  };
}
