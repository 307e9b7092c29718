import { partitionOf, skuEntity } from '../../src/domain/entities.js';
import { benchLimits } from './bench-limits.js';
import type { RunningCluster } from './cluster.js';
import { getInventory } from './http.js';
import { longestSilenceMs, rate, timelineCount } from './load-math.js';
import type { LoadSummary, LoadTimeline } from './load-stats.js';
import { sleep } from './waits.js';

/**
 * A partition move in the middle of a sale, measured (the scale scenario's "move pause"): wait until half of a SKU's
 * stock is gone, move the SKU's partition to another node through the admin API, and afterwards read from the load's
 * fine timeline how many orders were acknowledged before, during and after the move. The node reports `pauseMs`
 * (how long the partition did not serve); the timeline says what the clients saw.
 */
export interface MidSaleMove {
  sku: string;
  partition: number;
  from: string;
  to: string;
  epoch: number;
  /** The node's own figure: how long the partition did not serve. */
  pauseMs: number;
  /** `available` of the SKU in the poll that triggered the move. */
  availableAtStart: number;
  /** Wall-clock (Date.now()) times the admin call was sent and answered. */
  startedAtEpochMs: number;
  answeredAtEpochMs: number;
}

/** The timeline resolution the figures need: fine enough for pauses of tens of milliseconds. */
export const moveTimelineBinMs = 10;
/** Orders/s before and after the move are counted over this long (shorter when the sale is). */
const moveWindowMs = 1_000;
/** The profile in the notes: orders per this many ms, from this long before the move to this long after it. */
const profileBinMs = 100;
const profileMarginMs = 500;

/**
 * Polls the SKU through the node that owns it until at most half of `stock` is available, then moves its partition
 * to the first other node. Throws when the SKU does not get there within `secondsMax`, when `abort` settles first
 * (the load ended), or when the move is not answered 200.
 */
export async function moveSkuPartitionMidSale(cluster: RunningCluster, sku: string, stock: number, secondsMax: number, abort: Promise<unknown>): Promise<MidSaleMove> {
  const { partitions } = await cluster.status();
  const partition = partitionOf(skuEntity(sku), partitions);
  const from = (await cluster.owners()).get(partition);
  const owner = cluster.nodes.find((n) => n.nodeId === from);
  const target = cluster.nodes.find((n) => n.nodeId !== from);
  if (!owner || !target) throw new Error(`partition ${partition} of ${sku} is owned by ${from ?? 'nobody'}: no owner and other node among ${cluster.nodes.map((n) => n.nodeId).join(', ')}`);
  let ended = false;
  abort.then(
    () => (ended = true),
    () => (ended = true),
  );
  const deadline = Date.now() + secondsMax * 1000;
  for (;;) {
    if (ended) throw new Error(`the load ended before ${sku} was half sold`);
    if (Date.now() > deadline) throw new Error(`${sku} was not half sold within ${secondsMax} s`);
    // Under full load a poll can be slow or fail; the next one decides.
    const counts = await getInventory(owner.baseUrl, sku).catch(() => null);
    if (counts && counts.available <= stock / 2) {
      const startedAtEpochMs = Date.now();
      const answer = await cluster.move(partition, target.nodeId!);
      return { sku, partition, from: answer.from, to: answer.to, epoch: answer.epoch, pauseMs: answer.pauseMs, availableAtStart: counts.available, startedAtEpochMs, answeredAtEpochMs: Date.now() };
    }
    await sleep(benchLimits.midSalePollMs);
  }
}

/**
 * The move's figures from the load's timeline (checkout 2xx answers): orders/s in the second before the admin call,
 * during it and in the second after it (each cut to the sale: first to last order), the longest stretch without an
 * order during the call against the longest before it, and any 5xx answers from the call to a second after it.
 */
export function moveFigures(move: MidSaleMove, summary: LoadSummary): { metrics: Record<string, number | null>; note: string } {
  const t = summary.timeline;
  const orders = summary.whole.byOp['checkout'];
  const base: Record<string, number | null> = { movePauseMs: move.pauseMs };
  if (!t || !orders || orders.first2xxMs === null || orders.last2xxMs === null) return { metrics: base, note: `move: ${describeMove(move)}; no order timeline to measure the dip with` };
  const first = orders.first2xxMs;
  const last = orders.last2xxMs;
  const start = move.startedAtEpochMs - t.startedAtEpochMs;
  const end = move.answeredAtEpochMs - t.startedAtEpochMs;
  const perSec = (from: number, to: number) => (to - from >= t.binMs ? rate(timelineCount(t, 'checkout', '2xx', from, to), (to - from) / 1000) : null);
  const metrics: Record<string, number | null> = {
    ...base,
    moveCallMs: Math.round(end - start),
    moveAtSeconds: Math.round(start) / 1000,
    moveOrdersPerSecBefore: perSec(Math.max(first, start - moveWindowMs), start),
    moveOrdersPerSecDuring: perSec(start, end),
    moveOrdersPerSecAfter: perSec(end, Math.min(last, end + moveWindowMs)),
    moveLongestGapMs: longestSilenceMs(t, 'checkout', '2xx', start, Math.min(end, last)),
    longestGapBeforeMoveMs: longestSilenceMs(t, 'checkout', '2xx', first, start),
    move5xxAnswers: timelineCount(t, 'checkout', '5xx', start, end + moveWindowMs),
  };
  const f = (k: string) => (metrics[k] === null ? '—' : String(metrics[k]));
  const note =
    `move: ${describeMove(move)}, started ${f('moveAtSeconds')} s into the load with ${move.availableAtStart} units available; ` +
    `pauseMs ${move.pauseMs} (node), admin call ${f('moveCallMs')} ms; orders/s ${f('moveOrdersPerSecBefore')} before the call (up to 1 s, from the first order), ` +
    `${f('moveOrdersPerSecDuring')} during it, ${f('moveOrdersPerSecAfter')} after it (up to 1 s, to the last order); longest stretch without an order ` +
    `${f('moveLongestGapMs')} ms during the call (${f('longestGapBeforeMoveMs')} ms before it); 5xx answers ${f('move5xxAnswers')}; ` +
    `orders per ${profileBinMs} ms from ${profileMarginMs} ms before the call to ${profileMarginMs} ms after it: ${profile(t, start, end)}` +
    `${t.truncated ? ' (timeline truncated)' : ''}`;
  return { metrics, note };
}

const describeMove = (m: MidSaleMove) => `partition ${m.partition} (${m.sku}) ${m.from} → ${m.to}, epoch ${m.epoch}`;

/** Orders per profileBinMs around the call, with `[` and `]` where the call started and ended. */
function profile(t: LoadTimeline, start: number, end: number): string {
  const cells: string[] = [];
  for (let from = start - profileMarginMs; from < end + profileMarginMs; from += profileBinMs) {
    if (from <= start && start < from + profileBinMs) cells.push('[');
    cells.push(String(timelineCount(t, 'checkout', '2xx', from, from + profileBinMs)));
    if (from <= end && end < from + profileBinMs) cells.push(']');
  }
  return cells.join(' ');
}
