import { benchProduct } from '../lib/catalog-import.js';
import { getInventory } from '../lib/http.js';
import { countOf, opLatency, phaseNamed, phaseSeconds, rate } from '../lib/load-math.js';
import type { LoadSummary } from '../lib/load-stats.js';
import { runContender } from '../lib/run-contender.js';
import { ratiosFor, type Check, type RunRecord } from '../lib/run-record.js';
import { sellers, type Scenario } from '../lib/scenario.js';
import { sleep, warmupSeconds } from '../lib/waits.js';

/**
 * holds: reserve-and-release on one hot SKU, nothing else — hold throughput and latency alone. Each connection
 * alternates POST /api/inventory/:sku/holds and DELETE …/holds/:holdId (admin routes). Stock is large enough that
 * holds never run out, so every refusal is a real error.
 */
const holdSku = 'HOLD-1';
const connections = 256;
const onHand = 1_000_000;
const secondsFull = 30;
const secondsQuick = 5;

export const holds: Scenario = {
  name: 'holds',
  description: 'reserve then release on one hot SKU (hold throughput and latency alone)',
  async run(env, opts) {
    const seconds = opts.quick ? secondsQuick : secondsFull;
    const runs: RunRecord[] = [];
    for (const contender of sellers(opts.contenders)) {
      runs.push(
        await runContender(
          env,
          {
            scenario: 'holds',
            variant: `onHand=${onHand}`,
            params: { onHand, connections, seconds, warmupSeconds: warmupSeconds(opts.quick) },
            contender,
            serverEnv: {},
            catalog: { count: 1, itemAt: () => benchProduct(holdSku, onHand) },
            skus: [{ sku: holdSku, initial: onHand }],
            settleSkus: [holdSku],
            expectNoHolds: false,
          },
          async (live) => {
            const warmup = warmupSeconds(opts.quick);
            const load = await live.startLoad({ kind: 'holds', sku: holdSku, qty: 1, adminToken: live.server.adminToken }, connections, 'warmup', warmup + seconds + 60);
            await sleep(warmup * 1000);
            load.setPhase('holds');
            await sleep(seconds * 1000);
            const summary = await load.stop();
            return { load: summary, connections, metrics: holdFigures(summary), extraChecks: (server) => heldMatchesClient(server.baseUrl, summary) };
          },
        ),
      );
    }
    return {
      scenario: 'holds',
      description: holds.description,
      settings: { connections, seconds, warmupSeconds: warmupSeconds(opts.quick), onHand },
      runs,
      ratios: ratiosFor(runs, [
        { name: 'holdsPerSec', higherIsBetter: true },
        { name: 'holdP99Ms', higherIsBetter: false },
      ]),
      notes: ['holdsPerSec counts 201 holds, releasesPerSec 200 releases; each connection alternates the two.'],
    };
  },
};

function holdFigures(summary: LoadSummary): Record<string, number | null> {
  const w = phaseNamed(summary, 'holds');
  const secs = phaseSeconds(w);
  return {
    holdsPerSec: rate(countOf(w, 'hold', (s) => s === 201), secs),
    releasesPerSec: rate(countOf(w, 'release', (s) => s === 200), secs),
    holdP50Ms: opLatency(w, 'hold', '2xx')?.p50Ms ?? null,
    holdP99Ms: opLatency(w, 'hold', '2xx')?.p99Ms ?? null,
    holdP999Ms: opLatency(w, 'hold', '2xx')?.p999Ms ?? null,
    releaseP99Ms: opLatency(w, 'release', '2xx')?.p99Ms ?? null,
  };
}

/**
 * What the server holds at the end must match what the client saw: holds created minus holds released, give or
 * take the requests in flight when the load stopped (at most one per connection, either way).
 */
async function heldMatchesClient(baseUrl: string, summary: LoadSummary): Promise<Check[]> {
  const created = countOf(summary.whole, 'hold', (s) => s === 201);
  const released = countOf(summary.whole, 'release', (s) => s === 200);
  const outstanding = created - released;
  const counts = await getInventory(baseUrl, holdSku);
  const ok = Math.abs(counts.held - outstanding) <= connections && counts.sold === 0;
  return [
    {
      name: 'held matches the client (created − released, ± in-flight)',
      ok,
      detail: `server held ${counts.held}, sold ${counts.sold}; client saw ${created} created, ${released} released (${outstanding} outstanding, tolerance ±${connections})`,
    },
  ];
}
