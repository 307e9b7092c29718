import type { LoadSummary } from '../lib/load-stats.js';
import { formatNumber } from '../lib/markdown.js';
import { moveFigures, moveSkuPartitionMidSale, moveTimelineBinMs } from '../lib/partition-move.js';
import type { Live } from '../lib/run-contender.js';
import { notRunRecord, ratiosFor, type Check, type RunRecord } from '../lib/run-record.js';
import { sellers, type Scenario } from '../lib/scenario.js';
import type { ContenderKind } from '../lib/servers.js';
import { catalogMetrics, catalogSkuCount, runCatalog } from './catalog.js';
import { flashHotMetrics, flashHotSku, runFlashHot, type SaleAction } from './flash-hot.js';

/**
 * scale: flash-hot and catalog on 1 node and on a 2-node cluster (same database, the bench's Redis, a CLUSTER_NAME
 * per run), the same load spread half and half over the two nodes' HTTP ports. Every node serves every route and
 * forwards what another node owns, so the 2-node figures include forwarding. During the 2-node flash-hot sale the
 * hot SKU's partition is moved to the other node once, when half the stock is gone: the run reports the node's
 * pauseMs and the orders/s the clients saw around the move.
 *
 * The contenders are single processes by nature (their stock is one PostgreSQL row or one Redis key behind one
 * server): they run at 1 node and are recorded as not applicable at 2.
 */
const flashStockFull = 10_000;
const flashStockQuick = 2_000;
/** scale --quick runs catalog shorter than catalog --quick does, to stay within the 2-minute budget with flash-hot. */
const catalogSecondsQuick = 5;
const clusterNodes = 2;
/** A sale that is not half sold after this long gets no move (the run's checks say so). */
const halfSoldSecondsMax = 30;
export const contenderTwoNodeReason =
  'not applicable: a single process by nature (its stock is one PostgreSQL row or Redis key behind one server), so there is no second node to add';

export const scale: Scenario = {
  name: 'scale',
  description: 'flash-hot and catalog on 1 node and on a 2-node boxoffice cluster (load spread over both), with a partition move mid-sale',
  async run(env, opts) {
    const runs: RunRecord[] = [];
    const stock = opts.quick ? flashStockQuick : flashStockFull;
    const seconds = opts.quick ? catalogSecondsQuick : undefined;
    const flashVariant = (nodes: number) => `flash-hot nodes=${nodes} `;
    const catalogVariant = (nodes: number) => `catalog nodes=${nodes} `;
    for (const contender of sellers(opts.contenders)) {
      runs.push(await runFlashHot(env, { stock, paymentLatencyMs: 0, contender, quick: opts.quick, scenario: 'scale', variantPrefix: flashVariant(1) }));
    }
    for (const contender of sellers(opts.contenders)) {
      runs.push(await runCatalog(env, { contender, quick: opts.quick, scenario: 'scale', variantPrefix: catalogVariant(1), seconds }));
    }
    for (const contender of sellers(opts.contenders)) {
      if (contender !== 'boxoffice') {
        runs.push(notApplicable(`${flashVariant(clusterNodes)}stock=${stock} pay=0ms`, contender), notApplicable(`${catalogVariant(clusterNodes)}skus=${catalogSkuCount(opts.quick)}`, contender));
        continue;
      }
      const duringSale = moveHotPartition(stock);
      runs.push(await runFlashHot(env, { stock, paymentLatencyMs: 0, contender, quick: opts.quick, scenario: 'scale', variantPrefix: flashVariant(clusterNodes), nodes: clusterNodes, duringSale }));
      runs.push(await runCatalog(env, { contender, quick: opts.quick, scenario: 'scale', variantPrefix: catalogVariant(clusterNodes), seconds, nodes: clusterNodes }));
    }
    return {
      scenario: 'scale',
      description: scale.description,
      settings: { flashHotStock: stock, nodes: [1, clusterNodes], catalogSeconds: seconds ?? 'catalog default', moveTimelineBinMs },
      runs,
      ratios: [...ratiosFor(runs.filter((r) => r.variant.startsWith('flash-hot')), flashHotMetrics), ...ratiosFor(runs.filter((r) => r.variant.startsWith('catalog')), catalogMetrics)],
      notes: [
        `nodes=${clusterNodes}: one boxoffice cluster per run (its own database and CLUSTER_NAME on the bench's Redis, keys deleted afterwards); the catalog is loaded through node-1, the load worker shares its connections half and half over both nodes' HTTP ports, and requests for partitions the other node owns are forwarded. Every process (both nodes, PostgreSQL, Redis, the load worker) shares this machine's cores: on one machine nodes=${clusterNodes} shows the cost of forwarding, not a scale-out gain.`,
        `nodes=${clusterNodes}: the contenders are ${contenderTwoNodeReason.replace(/^not applicable: /, '')}.`,
        ...nodeComparison(runs),
        // The cluster runs' own notes (the move's figures, what each node printed), which the Markdown shows only here.
        ...runs.flatMap((r) => (r.params['nodes'] === clusterNodes && r.status !== 'not-run' ? r.notes.map((n) => `${r.variant}: ${n}`) : [])),
      ],
    };
  },
};

/** The scale scenario's action during the 2-node sale: move the hot SKU's partition once half the stock is gone. */
function moveHotPartition(stock: number): SaleAction {
  return {
    loadOptions: { timelineBinMs: moveTimelineBinMs },
    async run(live: Live, load, saleOver: Promise<LoadSummary>) {
      const cluster = live.cluster;
      if (!cluster) throw new Error('the move needs a cluster');
      const name = 'partition move mid-sale answered 200';
      let move;
      try {
        move = await moveSkuPartitionMidSale(cluster, flashHotSku, stock, halfSoldSecondsMax, load.finished);
      } catch (err) {
        await saleOver.catch(() => undefined);
        live.note(`move: failed: ${(err as Error).message}`);
        return { metrics: { movePauseMs: null }, checks: [{ name, ok: false, detail: (err as Error).message }] };
      }
      live.log(`moved partition ${move.partition} ${move.from} → ${move.to} mid-sale: pauseMs ${move.pauseMs}, admin call ${move.answeredAtEpochMs - move.startedAtEpochMs} ms`);
      const summary = await saleOver;
      const { metrics, note } = moveFigures(move, summary);
      live.note(note);
      const ownerAfter = (await cluster.owners()).get(move.partition);
      const checks: Check[] = [
        { name, ok: true, detail: `partition ${move.partition} ${move.from} → ${move.to}, epoch ${move.epoch}, pauseMs ${move.pauseMs}` },
        { name: 'moved partition owned by its target after the run', ok: ownerAfter === move.to, detail: `partition ${move.partition}: ${ownerAfter ?? 'no owner'} (target ${move.to})` },
      ];
      return { metrics, checks };
    },
  };
}

/** boxoffice nodes=2 ÷ nodes=1 for each headline figure, as notes (ratios proper compare contenders in one variant). */
function nodeComparison(runs: RunRecord[]): string[] {
  const box = runs.filter((r) => r.contender === 'boxoffice' && r.status !== 'not-run');
  const pairs: Array<[string, string[]]> = [
    ['flash-hot', ['ordersPerSec', 'orderP99Ms', 'soldOutAnswersPerSec']],
    ['catalog', ['checkoutsPerSec', 'requestsPerSec', 'checkoutP99Ms']],
  ];
  return pairs.flatMap(([scenario, metrics]) => {
    const one = box.find((r) => r.variant.startsWith(`${scenario} nodes=1 `));
    const two = box.find((r) => r.variant.startsWith(`${scenario} nodes=${clusterNodes} `));
    if (!one || !two) return [];
    const parts = metrics.map((m) => {
      const a = one.metrics[m] ?? null;
      const b = two.metrics[m] ?? null;
      const ratio = a !== null && b !== null && a !== 0 ? ` (${Math.round((b / a) * 100) / 100}×)` : '';
      return `${m} ${formatNumber(a)} → ${formatNumber(b)}${ratio}`;
    });
    return [`boxoffice ${scenario}, nodes=1 → nodes=${clusterNodes} (${one.status} / ${two.status}): ${parts.join('; ')}.`];
  });
}

const notApplicable = (variant: string, contender: ContenderKind): RunRecord =>
  notRunRecord({ scenario: 'scale', variant, params: { nodes: clusterNodes }, contender }, contenderTwoNodeReason);
