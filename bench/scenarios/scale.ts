import { notRunRecord, ratiosFor, type RunRecord } from '../lib/run-record.js';
import { sellers, type Scenario } from '../lib/scenario.js';
import type { ContenderKind } from '../lib/servers.js';
import { catalogMetrics, runCatalog } from './catalog.js';
import { flashHotMetrics, runFlashHot } from './flash-hot.js';

/**
 * scale: flash-hot and catalog with 1 node and 2 nodes, to show how cost grows with work and with nodes.
 * The 2-node half needs the cluster (issue 4: routing in Redis, partition ownership, forwarding), which is not
 * built; those runs are recorded as not-run with that reason instead of being faked with two unrelated nodes.
 */
const flashStockFull = 10_000;
const flashStockQuick = 2_000;
/** scale --quick runs catalog shorter than catalog --quick does, to stay within the 2-minute budget with flash-hot. */
const catalogSecondsQuick = 5;
export const twoNodeReason = 'not run: 2 nodes need the cluster (issue 4: Redis routing, partition ownership, forwarding), which is not built yet';

export const scale: Scenario = {
  name: 'scale',
  description: 'flash-hot and catalog on 1 node (2 nodes: needs the cluster, issue 4, not built)',
  async run(env, opts) {
    const runs: RunRecord[] = [];
    const stock = opts.quick ? flashStockQuick : flashStockFull;
    for (const contender of sellers(opts.contenders)) {
      runs.push(await runFlashHot(env, { stock, paymentLatencyMs: 0, contender, quick: opts.quick, scenario: 'scale', variantPrefix: 'flash-hot nodes=1 ' }));
    }
    for (const contender of sellers(opts.contenders)) {
      const seconds = opts.quick ? catalogSecondsQuick : undefined;
      runs.push(await runCatalog(env, { contender, quick: opts.quick, scenario: 'scale', variantPrefix: 'catalog nodes=1 ', seconds }));
    }
    for (const contender of sellers(opts.contenders)) {
      runs.push(notRun(`flash-hot nodes=2 stock=${stock} pay=0ms`, contender), notRun('catalog nodes=2', contender));
    }
    env.log(`scale: ${twoNodeReason}`);
    return {
      scenario: 'scale',
      description: scale.description,
      settings: { flashHotStock: stock, nodes: [1, 2] },
      runs,
      ratios: [...ratiosFor(runs.filter((r) => r.variant.startsWith('flash-hot')), flashHotMetrics), ...ratiosFor(runs.filter((r) => r.variant.startsWith('catalog')), catalogMetrics)],
      notes: [`nodes=2: ${twoNodeReason}.`],
    };
  },
};

const notRun = (variant: string, contender: ContenderKind): RunRecord =>
  notRunRecord({ scenario: 'scale', variant, params: { nodes: 2 }, contender }, twoNodeReason);
