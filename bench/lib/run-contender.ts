import { randomBytes } from 'node:crypto';
import { benchLimits } from './bench-limits.js';
import { importCatalog, type CatalogItem } from './catalog-import.js';
import { runChecks, type StockLine } from './correctness.js';
import { createBenchDatabase, dropRedisPrefix, type BenchDatabase } from './databases.js';
import { getInventory, requestJson } from './http.js';
import { startLoad, type LoadRun } from './load-client.js';
import type { LoadSummary } from './load-stats.js';
import { latencyBreakdown } from './prometheus.js';
import { formatProgress } from './progress.js';
import { newRecord, type Check, type RunRecord } from './run-record.js';
import { startServer, type ContenderKind, type RunningServer } from './servers.js';
import type { WorkloadSpec } from './workloads.js';

/**
 * One (scenario, variant, contender) run, the same way for every contender: fresh database → start the server →
 * import the catalog (not measured) → the scenario drives the load → let in-flight work settle → correctness checks
 * → stop the server → drop the database. Whatever fails is caught and recorded with its reason; the server and the
 * load worker are stopped on every path.
 */
export interface BenchEnv {
  adminUrl: string;
  redisUrl: string;
  quick: boolean;
  /** Knobs passed to every server from the harness's environment (DB_POOL_SIZE, JOURNAL_BATCH_ROWS, …). */
  knobs: Record<string, string>;
  log(line: string): void;
}

export interface RunSpec {
  scenario: string;
  variant: string;
  params: Record<string, string | number | boolean>;
  contender: ContenderKind;
  /** Scenario settings for the server (SIM_PAYMENT_LATENCY_MS, …), on top of the knobs. */
  serverEnv: Record<string, string>;
  catalog: { count: number; itemAt(index: number): CatalogItem } | null;
  /** Stocked SKUs for the checks, most important first. */
  skus: StockLine[];
  /** SKUs polled after the load until their counts stop moving (in-flight requests settled); at most a handful. */
  settleSkus: string[];
  expectNoHolds: boolean;
}

export interface Live {
  server: RunningServer;
  /** Starts the load worker (paced when ratePerSec is given); its per-second stats are printed as progress lines. */
  startLoad(workload: WorkloadSpec, connections: number, phase: string, durationSecondsMax: number, ratePerSec?: number): Promise<LoadRun>;
  note(text: string): void;
  log(line: string): void;
}

export interface DriveResult {
  load: LoadSummary | null;
  connections: number | null;
  metrics: Record<string, number | null>;
  /** Scenario-specific checks, run after in-flight work settled (e.g. holds: held matches what the client saw). */
  extraChecks?: (server: RunningServer) => Promise<Check[]>;
}

export async function runContender(env: BenchEnv, spec: RunSpec, drive: (live: Live) => Promise<DriveResult>): Promise<RunRecord> {
  const startedMs = Date.now();
  const serverEnv = { ...env.knobs, ...spec.serverEnv };
  // One prefix per run (the database name is per run too): redis-lua's counters never leak between runs.
  const redisKeyPrefix = `bench:${randomBytes(6).toString('hex')}:`;
  const record = newRecord({ scenario: spec.scenario, variant: spec.variant, params: spec.params, contender: spec.contender, serverEnv });
  const label = `${spec.scenario}  ${spec.variant}`;
  const log = (line: string) => env.log(`${label}  ${spec.contender.padEnd(14)}  ${line}`);
  const loads: LoadRun[] = [];
  let db: BenchDatabase | null = null;
  let server: RunningServer | null = null;
  try {
    db = await createBenchDatabase(env.adminUrl, `${spec.scenario}_${spec.contender}`);
    server = await startServer({ kind: spec.contender, databaseUrl: db.url, redisUrl: env.redisUrl, redisKeyPrefix, adminToken: randomBytes(16).toString('hex'), env: serverEnv });
    log(`started (pid ${server.pid}, ${server.baseUrl}, database ${db.name}; host load ${record.hostLoadAtStart})`);
    if (spec.catalog) await importWithProgress(server, spec.catalog, log);
    const metricsBefore = spec.contender === 'boxoffice' ? await scrapeMetrics(server) : null;
    const live = liveRun(server, spec, label, record, loads, log);
    const result = await drive(live);
    Object.assign(record, { load: result.load, connections: result.connections, metrics: result.metrics });
    const died = server.exitDescription();
    if (died) throw new Error(`${spec.contender} ${died} during the run`);
    await settle(server, spec.settleSkus);
    record.checks = await runChecks({
      kind: spec.contender,
      baseUrl: server.baseUrl,
      databaseUrl: db.url,
      skus: spec.skus,
      load: result.load,
      expectNoHolds: spec.expectNoHolds,
      redisUrl: env.redisUrl,
      redisKeyPrefix,
    });
    if (result.extraChecks) record.checks.push(...(await result.extraChecks(server)));
    if (metricsBefore !== null) record.breakdown = latencyBreakdown(metricsBefore, await scrapeMetrics(server));
    record.status = record.checks.every((c) => c.ok) ? 'passed' : 'failed';
  } catch (err) {
    record.status = 'error';
    record.reason = (err as Error).message;
  } finally {
    await Promise.allSettled(loads.map((l) => l.stop()));
    if (record.status !== 'passed' && server) record.logTail = server.logTail();
    await server?.stop().catch((err: Error) => record.notes.push(`stopping the server failed: ${err.message}`));
    await db?.drop().catch((err: Error) => record.notes.push(`dropping database ${db?.name} failed: ${err.message}`));
    if (spec.contender === 'redis-lua') {
      await dropRedisPrefix(env.redisUrl, redisKeyPrefix).catch((err: Error) => record.notes.push(`removing Redis keys ${redisKeyPrefix}* failed: ${err.message}`));
    }
  }
  record.wallSeconds = Math.round((Date.now() - startedMs) / 100) / 10;
  log(`${record.status.toUpperCase()}${record.reason ? `: ${record.reason}` : ''} (${record.wallSeconds} s)`);
  for (const c of record.checks) if (!c.ok) log(`  check failed: ${c.name}: ${c.detail}`);
  return record;
}

function liveRun(server: RunningServer, spec: RunSpec, label: string, record: RunRecord, loads: LoadRun[], log: (l: string) => void): Live {
  return {
    server,
    note: (text) => record.notes.push(text),
    log,
    async startLoad(workload, connections, phase, durationSecondsMax, ratePerSec) {
      let lastT = 0;
      const load = await startLoad(
        {
          url: server.baseUrl,
          connections,
          workload,
          durationSecondsMax,
          runTag: `${spec.scenario}-${randomBytes(6).toString('hex')}`,
          phase,
          requestTimeoutSeconds: benchLimits.loadRequestTimeoutSeconds,
          ...(ratePerSec === undefined ? {} : { ratePerSec }),
        },
        (s) => {
          record.series.push(s);
          const interval = s.t - lastT;
          lastT = s.t;
          process.stdout.write(`${formatProgress(label, spec.contender, s, interval)}\n`);
        },
      );
      loads.push(load);
      return load;
    },
  };
}

async function importWithProgress(server: RunningServer, catalog: NonNullable<RunSpec['catalog']>, log: (l: string) => void): Promise<void> {
  const t0 = Date.now();
  const every = Math.max(benchLimits.catalogBatchItemsMax, Math.ceil(catalog.count / 10));
  let nextReport = every;
  await importCatalog(server, catalog.count, catalog.itemAt, (done) => {
    if (done >= nextReport && done < catalog.count) {
      log(`catalog import: ${done.toLocaleString('en-US')} of ${catalog.count.toLocaleString('en-US')}`);
      nextReport += every;
    }
  });
  log(`catalog import: ${catalog.count.toLocaleString('en-US')} SKUs in ${((Date.now() - t0) / 1000).toFixed(1)} s (not measured)`);
}

export async function scrapeMetrics(server: RunningServer): Promise<string> {
  const r = await requestJson('GET', `${server.baseUrl}/metrics`);
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status}`);
  return r.text;
}

/**
 * After the load stops, requests already inside the server still finish (a checkout holding stock completes or
 * compensates). Checking before they do would see honest holds as leaks; so poll until two reads agree.
 */
async function settle(server: RunningServer, skus: string[]): Promise<void> {
  if (skus.length === 0) return;
  const deadline = Date.now() + benchLimits.quiesceMsMax;
  let previous = '';
  while (Date.now() < deadline) {
    const now = JSON.stringify(await Promise.all(skus.map((sku) => getInventory(server.baseUrl, sku).catch((e: Error) => e.message))));
    if (now === previous) return;
    previous = now;
    await new Promise((resolve) => setTimeout(resolve, benchLimits.quiescePollMs));
  }
}
