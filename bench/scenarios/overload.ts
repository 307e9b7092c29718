import { benchProduct } from '../lib/catalog-import.js';
import { requestJson } from '../lib/http.js';
import { countOf, opLatency, phaseNamed, phaseSeconds, rate } from '../lib/load-math.js';
import type { LoadSummary } from '../lib/load-stats.js';
import { gaugeValue } from '../lib/prometheus.js';
import { runContender } from '../lib/run-contender.js';
import type { RunRecord } from '../lib/run-record.js';
import type { Scenario } from '../lib/scenario.js';
import { sleep, warmupSeconds } from '../lib/waits.js';
import { flashHotConnections } from './flash-hot.js';

/**
 * overload (boxoffice only; issue 11, load shedding): flash-steady's buy-now checkouts on a SKU that never sells out,
 * at the load the node serves at its peak (256 connections, each sending its next checkout as soon as the last is
 * answered) and at ten times it (2,560 connections): once with the default bound on checkouts in flight (20,000:
 * the node queues them), once with CHECKOUTS_IN_FLIGHT_MAX at the peak's 256 (the node sheds the rest with 429
 * OVERLOADED). Each run reports the orders/s kept, the 429s/s, latencies, and the node's peak resident memory,
 * sampled every second; the usual checks prove nothing acknowledged was lost.
 */
const sku = 'OVERLOAD-1';
const onHand = 1_000_000;
const secondsFull = 10;
const secondsQuick = 5;
const overloadFactor = 10;

interface Variant {
  name: string;
  connections: number;
  serverEnv: Record<string, string>;
}

const variants: Variant[] = [
  { name: 'load=1x', connections: flashHotConnections, serverEnv: {} },
  { name: `load=${overloadFactor}x queue`, connections: flashHotConnections * overloadFactor, serverEnv: {} },
  { name: `load=${overloadFactor}x shed`, connections: flashHotConnections * overloadFactor, serverEnv: { CHECKOUTS_IN_FLIGHT_MAX: String(flashHotConnections) } },
];

export const overload: Scenario = {
  name: 'overload',
  description: 'one hot SKU at its peak load (256 connections) and at ten times it (2,560): queued, then shed with 429',
  async run(env, opts) {
    const seconds = opts.quick ? secondsQuick : secondsFull;
    const warmup = warmupSeconds(opts.quick);
    const runs: RunRecord[] = [];
    if (!opts.contenders.includes('boxoffice')) return { scenario: 'overload', description: overload.description, settings: {}, runs, ratios: [], notes: ['boxoffice only: not run without it among the contenders.'] };
    for (const v of variants) {
      runs.push(
        await runContender(
          env,
          {
            scenario: 'overload',
            variant: v.name,
            params: { onHand, connections: v.connections, seconds, warmupSeconds: warmup, paymentLatencyMs: 0, ...v.serverEnv },
            contender: 'boxoffice',
            serverEnv: { SIM_PAYMENT_LATENCY_MS: '0', ...v.serverEnv },
            catalog: { count: 1, itemAt: () => benchProduct(sku, onHand) },
            skus: [{ sku, initial: onHand }],
            settleSkus: [sku],
            expectNoHolds: true,
          },
          async (live) => {
            const load = await live.startLoad({ kind: 'buy-now', sku, qty: 1 }, v.connections, 'warmup', warmup + seconds + 60);
            await sleep(warmup * 1000);
            load.setPhase('sale');
            const rss = await sampleResidentMemory(live.server.baseUrl, seconds);
            const summary = await load.stop();
            return { load: summary, connections: v.connections, metrics: { ...overloadFigures(summary), peakRssMiB: rss.peak, rssAtStartMiB: rss.start } };
          },
        ),
      );
    }
    const peak = runs[0]?.metrics['ordersPerSec'] ?? null;
    for (const r of runs) {
      const kept = r.metrics['ordersPerSec'];
      r.metrics['keptOfPeak'] = peak && kept !== undefined && kept !== null ? Math.round((kept / peak) * 100) / 100 : null;
    }
    return {
      scenario: 'overload',
      description: overload.description,
      settings: { connections: variants.map((v) => v.connections).join(' / '), seconds, warmupSeconds: warmup, onHand },
      runs,
      ratios: [],
      notes: [
        'ordersPerSec = 201 answers per second in the window after the warm-up; shedPerSec = 429 OVERLOADED answers per second there.',
        `keptOfPeak = ordersPerSec ÷ the load=1x run's ordersPerSec. Load is closed: a connection sends its next checkout when the last is answered, so ${overloadFactor}x the connections is ${overloadFactor}x the buyers at once.`,
        'peakRssMiB = the largest process_resident_memory_bytes read from /metrics once a second during the window; rssAtStartMiB the first reading.',
      ],
    };
  },
};

function overloadFigures(summary: LoadSummary): Record<string, number | null> {
  const w = phaseNamed(summary, 'sale');
  return {
    ordersPerSec: rate(countOf(w, 'checkout', (s) => s === 201), phaseSeconds(w)),
    shedPerSec: rate(countOf(w, 'checkout', (s) => s === 429), phaseSeconds(w)),
    otherAnswersPerSec: rate(countOf(w, 'checkout', (s) => s !== 201 && s !== 429), phaseSeconds(w)),
    orderP50Ms: opLatency(w, 'checkout', '2xx')?.p50Ms ?? null,
    orderP99Ms: opLatency(w, 'checkout', '2xx')?.p99Ms ?? null,
    shedP99Ms: opLatency(w, 'checkout', '4xx')?.p99Ms ?? null,
  };
}

/** Reads the node's resident memory once a second for `seconds`; MiB. */
async function sampleResidentMemory(baseUrl: string, seconds: number): Promise<{ start: number | null; peak: number | null }> {
  const readings: number[] = [];
  for (let i = 0; i < seconds; i++) {
    const started = Date.now();
    const r = await requestJson('GET', `${baseUrl}/metrics`).catch(() => null);
    const bytes = r?.status === 200 && typeof r.text === 'string' ? gaugeValue(r.text, 'process_resident_memory_bytes') : null;
    if (bytes !== null) readings.push(bytes / 2 ** 20);
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
  return { start: readings[0] ?? null, peak: readings.length ? Math.max(...readings) : null };
}
