import { benchProduct, importCatalog } from '../lib/catalog-import.js';
import { benchLimits } from '../lib/bench-limits.js';
import { gaugeValue } from '../lib/prometheus.js';
import { runContender, scrapeMetrics, type BenchEnv } from '../lib/run-contender.js';
import { notRunRecord, type RunRecord } from '../lib/run-record.js';
import type { Scenario } from '../lib/scenario.js';
import type { RunningServer } from '../lib/servers.js';
import { join } from 'node:path';
import { sleep } from '../lib/waits.js';
import { catalogSku } from '../lib/workloads.js';

/**
 * memory (boxoffice only): resident memory per SKU. RSS (process_resident_memory_bytes from /metrics) and V8 heap
 * in use are read on an idle node right after a full garbage collection (bench/lib/gc-hook.ts), then 1,000,000 SKUs (quick: 100,000) with stock are loaded through the catalog
 * route in batches of 10,000, then read again once the node is idle: (after − before) ÷ SKUs. Two runs:
 * - passivation=off (PASSIVATE_IDLE_MS at its maximum): every SKU keeps a live inventory actor;
 * - passivation=on (PASSIVATE_IDLE_MS=1000): idle SKUs are reduced to their counts before the second reading.
 * The figure to reach is ≤ 1 KB resident per idle SKU. V8 returns freed memory to the OS lazily, so the RSS of the
 * passivated run is an upper bound; the heap figure shows what passivation freed.
 */
const gcHook = join(__dirname, '..', 'lib', 'gc-hook.js');
/** After a forced collection, give the process a moment before reading (the signal is handled asynchronously). */
const afterGcMs = 500;
const skuCountFull = 1_000_000;
const skuCountQuick = 100_000;
const onHandPerSku = 10;
/** After the import, let the node finish journal writes and the GC settle before reading memory. */
const idleSettleMs = 5_000;
/** Memory is read this many times, a second apart; the lowest is reported (the steady state). */
const memoryReads = 3;
/** SKUs read back and checked afterwards: a spread over the whole range (every k-th), not the first ones. */
const checkedSkus = 1_000;
/** boxoffice's bounds for PASSIVATE_IDLE_MS (src/config/config.ts): the smallest, and "never" for this run. */
const passivateIdleMsOn = 1_000;
const passivateIdleMsOff = 86_400_000;
/** The node checks for idle SKUs every max(1 s, idle / 2); two checks after the idle time have surely run. */
const passivationWaitMs = passivateIdleMsOn + 2 * 1_000;

export const memory: Scenario = {
  name: 'memory',
  description: 'boxoffice memory per SKU with 1,000,000 SKUs loaded, passivation off and on',
  async run(env, opts) {
    const skuCount = opts.quick ? skuCountQuick : skuCountFull;
    const runs: RunRecord[] = [];
    for (const passivation of [false, true]) {
      const variant = `skus=${skuCount} passivation=${passivation ? 'on' : 'off'}`;
      const params = { skuCount, onHandPerSku, batchItems: benchLimits.catalogBatchItemsMax, passivation };
      if (!opts.contenders.includes('boxoffice')) runs.push(notRunRecord({ scenario: 'memory', variant, params, contender: 'boxoffice' }, 'not run: boxoffice excluded by --contenders'));
      else runs.push(await runMemory(env, variant, params, skuCount, passivation));
    }
    return {
      scenario: 'memory',
      description: memory.description,
      settings: { skuCount, onHandPerSku, idleSettleMs, memoryReads, passivateIdleMsOn, passivateIdleMsOff },
      runs,
      ratios: [],
      notes: [
        'bytesPerSku = (RSS after − RSS before) ÷ SKUs (process_resident_memory_bytes); heapBytesPerSku the same with nodejs_heap_size_used_bytes. Target ≤ 1,024 bytes per idle SKU.',
        'Every SKU has stock, so with passivation off each is a live inventory actor. V8 gives freed memory back to the OS lazily: the passivated RSS is an upper bound.',
      ],
    };
  },
};

function runMemory(env: BenchEnv, variant: string, params: RunRecord['params'], skuCount: number, passivation: boolean): Promise<RunRecord> {
  const stride = Math.max(1, Math.floor(skuCount / checkedSkus));
  const sample = Array.from({ length: Math.ceil(skuCount / stride) }, (_, i) => ({ sku: catalogSku(i * stride + 1), initial: onHandPerSku }));
  const serverEnv = {
    PASSIVATE_IDLE_MS: String(passivation ? passivateIdleMsOn : passivateIdleMsOff),
    NODE_OPTIONS: `--expose-gc --require ${JSON.stringify(gcHook)}`,
  };
  return runContender(
    env,
    { scenario: 'memory', variant, params, contender: 'boxoffice', serverEnv, catalog: null, skus: sample, settleSkus: [], expectNoHolds: true },
    async (live) => {
      await sleep(idleSettleMs);
      const before = await steadyMemory(live.server);
      const t0 = Date.now();
      await importCatalog(live.server, skuCount, (i) => benchProduct(catalogSku(i + 1), onHandPerSku), (done) => {
        if (done % (skuCount / 10) === 0) live.log(`loaded ${done.toLocaleString('en-US')} SKUs`);
      });
      const importSeconds = (Date.now() - t0) / 1000;
      await sleep(idleSettleMs + (passivation ? passivationWaitMs : 0));
      const after = await steadyMemory(live.server);
      return {
        load: null,
        connections: null,
        metrics: {
          bytesPerSku: Math.round((after.rss - before.rss) / skuCount),
          heapBytesPerSku: Math.round((after.heap - before.heap) / skuCount),
          rssBeforeBytes: before.rss,
          rssAfterBytes: after.rss,
          heapBeforeBytes: before.heap,
          heapAfterBytes: after.heap,
          skuCount,
          importSkusPerSec: Math.round(skuCount / importSeconds),
        },
      };
    },
  );
}

/** The lowest RSS and heap in use over a few reads a second apart, each right after a full collection. */
async function steadyMemory(server: RunningServer): Promise<{ rss: number; heap: number }> {
  let rss = Number.POSITIVE_INFINITY;
  let heap = Number.POSITIVE_INFINITY;
  for (let i = 0; i < memoryReads; i++) {
    if (i > 0) await sleep(1_000);
    server.signal('SIGUSR2');
    await sleep(afterGcMs);
    const text = await scrapeMetrics(server);
    const r = gaugeValue(text, 'process_resident_memory_bytes');
    const h = gaugeValue(text, 'nodejs_heap_size_used_bytes');
    if (r === null || h === null) throw new Error('/metrics has no process_resident_memory_bytes or nodejs_heap_size_used_bytes');
    rss = Math.min(rss, r);
    heap = Math.min(heap, h);
  }
  return { rss, heap };
}
