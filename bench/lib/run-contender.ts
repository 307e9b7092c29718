import { randomBytes } from 'node:crypto';
import { benchLimits } from './bench-limits.js';
import { importCatalog, type CatalogItem } from './catalog-import.js';
import { describeStatus, isSettled, startCluster, type RunningCluster } from './cluster.js';
import { runChecks, type StockLine } from './correctness.js';
import { createBenchDatabase, dropRedisPrefix, type BenchDatabase } from './databases.js';
import { getInventory, requestJson } from './http.js';
import { startLoad, type LoadRun } from './load-client.js';
import type { LoadSummary } from './load-stats.js';
import { latencyBreakdown, type BreakdownRow } from './prometheus.js';
import { formatProgress } from './progress.js';
import { newRecord, type Check, type RunRecord } from './run-record.js';
import { startServer, type ContenderKind, type RunningServer } from './servers.js';
import { recordedEnv, type RunningSidecar, type Sidecar } from './sidecar.js';
import type { WorkloadSpec } from './workloads.js';

/**
 * One (scenario, variant, contender) run, the same way for every contender: fresh database → start the run's sidecar,
 * if any (flash-hot's Stripe test server) → start the server (or, for boxoffice with `nodes` > 1, a cluster of that
 * many nodes) → import the catalog through the first server (not measured) → the scenario drives the load, spread
 * over every server → let in-flight work settle → correctness checks, and the sidecar's audit → stop the servers and
 * the sidecar → drop the database. Whatever fails is caught and recorded with its reason; the servers, the sidecar
 * and the load worker are stopped on every path.
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
  /** boxoffice only: more than 1 runs a cluster of that many nodes on the run's database (default 1: one server). */
  nodes?: number;
  /** Scenario settings for the server (SIM_PAYMENT_LATENCY_MS, …), on top of the knobs. */
  serverEnv: Record<string, string>;
  /** A process started before the server and stopped after it, whose settings the server gets (the Stripe test server). */
  sidecar?: Sidecar;
  catalog: { count: number; itemAt(index: number): CatalogItem } | null;
  /** Stocked SKUs for the checks, most important first. */
  skus: StockLine[];
  /** SKUs polled after the load until their counts stop moving (in-flight requests settled); at most a handful. */
  settleSkus: string[];
  expectNoHolds: boolean;
}

export interface LoadOptions {
  /** Keep answers per bin of this many milliseconds (LoadSummary.timeline), for events shorter than a second. */
  timelineBinMs?: number;
}

export interface Live {
  /** The first (or only) server: setup, polls and checks go through it. */
  server: RunningServer;
  /** Every server the load is spread over: the one server, or each node of the cluster. */
  servers: RunningServer[];
  /** The cluster when the run has more than one node, else null. */
  cluster: RunningCluster | null;
  /** The run's sidecar (the Stripe test server) when it has one, else null. */
  sidecar: RunningSidecar | null;
  /** The run's database (a scenario may read it after the load). */
  databaseUrl: string;
  /** Starts the load worker (paced when ratePerSec is given); its per-second stats are printed as progress lines. */
  startLoad(workload: WorkloadSpec, connections: number, phase: string, durationSecondsMax: number, ratePerSec?: number, options?: LoadOptions): Promise<LoadRun>;
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

/** What a run started: one server, or the nodes of a cluster. */
interface Deployment {
  servers: RunningServer[];
  cluster: RunningCluster | null;
  stop(): Promise<void>;
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
  let deployment: Deployment | null = null;
  let sidecar: RunningSidecar | null = null;
  try {
    db = await createBenchDatabase(env.adminUrl, `${spec.scenario}_${spec.contender}`);
    let runEnv = serverEnv;
    if (spec.sidecar) {
      sidecar = await spec.sidecar.start();
      log(`started ${sidecar.name}: ${sidecar.describe()}`);
      runEnv = { ...serverEnv, ...sidecar.serverEnv };
      record.serverEnv = recordedEnv(runEnv, sidecar.secretEnvNames);
    }
    deployment = await deploy(env, spec, db.url, redisKeyPrefix, runEnv);
    const server = deployment.servers[0]!;
    log(`started ${describeDeployment(deployment)}, database ${db.name}; host load ${record.hostLoadAtStart}`);
    if (spec.catalog) await importWithProgress(server, spec.catalog, log);
    const ownersBefore = deployment.cluster ? await deployment.cluster.owners() : null;
    const metricsBefore = spec.contender === 'boxoffice' ? await Promise.all(deployment.servers.map(scrapeMetrics)) : null;
    const result = await drive(liveRun(deployment, sidecar, db.url, spec, label, record, loads, log));
    Object.assign(record, { load: result.load, connections: result.connections, metrics: result.metrics });
    const died = deployment.servers.find((s) => s.exitDescription() !== null);
    if (died) throw new Error(`${died.nodeId ?? spec.contender} ${died.exitDescription()} during the run`);
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
    if (sidecar) {
      const audit = await sidecar.audit(db.url);
      record.checks.push(...audit.checks);
      record.metrics = { ...record.metrics, ...audit.metrics };
      record.notes.push(...audit.notes);
    }
    if (deployment.cluster && ownersBefore) record.checks.push(...(await clusterChecks(deployment.cluster, ownersBefore)));
    if (metricsBefore !== null) record.breakdown = breakdownByServer(deployment.servers, metricsBefore, await Promise.all(deployment.servers.map(scrapeMetrics)));
    record.status = record.checks.every((c) => c.ok) ? 'passed' : 'failed';
  } catch (err) {
    record.status = 'error';
    record.reason = (err as Error).message;
  } finally {
    await Promise.allSettled(loads.map((l) => l.stop()));
    await deployment?.stop().catch((err: Error) => record.notes.push(`stopping the server failed: ${err.message}`));
    // After the server: a node that is shutting down may still call its payment provider.
    await sidecar?.stop().catch((err: Error) => record.notes.push(`stopping the ${sidecar?.name} failed: ${err.message}`));
    if (deployment) keepServerOutput(record, deployment);
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

async function deploy(env: BenchEnv, spec: RunSpec, databaseUrl: string, redisKeyPrefix: string, serverEnv: Record<string, string>): Promise<Deployment> {
  const adminToken = randomBytes(16).toString('hex');
  const nodes = spec.nodes ?? 1;
  if (nodes > 1) {
    if (spec.contender !== 'boxoffice') throw new Error(`${spec.contender} runs as one process: it has no ${nodes}-node mode`);
    const cluster = await startCluster({ nodes, databaseUrl, redisUrl: env.redisUrl, adminToken, env: serverEnv });
    return { servers: cluster.nodes, cluster, stop: () => cluster.stop() };
  }
  const server = await startServer({ kind: spec.contender, databaseUrl, redisUrl: env.redisUrl, redisKeyPrefix, adminToken, env: serverEnv });
  return { servers: [server], cluster: null, stop: () => server.stop() };
}

function describeDeployment(d: Deployment): string {
  if (!d.cluster) return `(pid ${d.servers[0]!.pid}, ${d.servers[0]!.baseUrl})`;
  return `cluster ${d.cluster.name}: ${d.servers.map((s) => `${s.nodeId} (pid ${s.pid}, ${s.baseUrl})`).join(', ')}`;
}

/**
 * A cluster run also checks the cluster itself after the load: every node is still a member with partitions (none
 * unowned), and no partition changed owner other than those the scenario moved — a failover under load (a node
 * whose heartbeat was late) would otherwise pass unnoticed.
 */
async function clusterChecks(cluster: RunningCluster, ownersBefore: Map<number, string>): Promise<Check[]> {
  const [status, ownersAfter] = await Promise.all([cluster.status(), cluster.owners()]);
  const unasked = [...ownersAfter].filter(([p, nodeId]) => ownersBefore.get(p) !== nodeId && !cluster.moved.has(p));
  return [
    { name: 'cluster: every node a member, no partition unowned', ok: isSettled(status, cluster.nodes.length), detail: describeStatus(status) },
    {
      name: 'cluster: no partition changed owner unless moved by the scenario',
      ok: unasked.length === 0,
      detail: unasked.length === 0 ? `${ownersAfter.size} partitions; ${cluster.moved.size} moved by the scenario` : `${unasked.length} changed owner unasked, e.g. ${unasked.slice(0, 5).map(([p, n]) => `${p} ${ownersBefore.get(p)} → ${n}`).join(', ')}`,
    },
  ];
}

/** One node: its breakdown as is; several: each node's rows, named after the node. */
function breakdownByServer(servers: RunningServer[], before: string[], after: string[]): BreakdownRow[] {
  if (servers.length === 1) return latencyBreakdown(before[0]!, after[0]!);
  return servers.flatMap((s, i) => latencyBreakdown(before[i]!, after[i]!).map((row) => ({ ...row, metric: `${s.nodeId} ${row.metric}` })));
}

/**
 * The servers' last output lines go into the record when the run did not pass; a cluster's also when a node printed
 * anything at all (LOG_LEVEL=warn: only warnings and errors), with a note per node saying how many lines it printed.
 */
function keepServerOutput(record: RunRecord, d: Deployment): void {
  const printed = d.servers.reduce((n, s) => n + s.logLineCount(), 0);
  if (d.cluster) for (const s of d.servers) record.notes.push(`${s.nodeId} printed ${s.logLineCount()} line(s) at LOG_LEVEL=warn (warnings and errors, its shutdown message included)`);
  if (record.status === 'passed' && (!d.cluster || printed === 0)) return;
  record.logTail = d.servers.flatMap((s) => s.logTail().map((line) => (d.cluster ? `[${s.nodeId}] ${line}` : line)));
}

function liveRun(d: Deployment, sidecar: RunningSidecar | null, databaseUrl: string, spec: RunSpec, label: string, record: RunRecord, loads: LoadRun[], log: (l: string) => void): Live {
  return {
    server: d.servers[0]!,
    servers: d.servers,
    cluster: d.cluster,
    sidecar,
    databaseUrl,
    note: (text) => record.notes.push(text),
    log,
    async startLoad(workload, connections, phase, durationSecondsMax, ratePerSec, options) {
      let lastT = 0;
      const load = await startLoad(
        {
          urls: d.servers.map((s) => s.baseUrl),
          connections,
          workload,
          durationSecondsMax,
          runTag: `${spec.scenario}-${randomBytes(6).toString('hex')}`,
          phase,
          requestTimeoutSeconds: benchLimits.loadRequestTimeoutSeconds,
          ...(ratePerSec === undefined ? {} : { ratePerSec }),
          ...(options?.timelineBinMs === undefined ? {} : { timelineBinMs: options.timelineBinMs }),
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
