import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHistory, type CheckResult } from './checker.js';
import { startChaosCluster, type ChaosCluster } from './chaos-cluster.js';
import type { AttemptKind } from './outcome.js';
import { createNemesis, type NemesisEvent } from './nemesis.js';
import { readFinalState } from './read-final-state.js';
import { makeSchedule, type FaultKind, type FaultStep } from './schedule.js';
import { startWorkload, type SaleSku } from './workload.js';

/**
 * One chaos run: start the cluster, stock the sale, run the buyers and the nemesis together for `durationMs`, stop
 * the buyers (each finishes its key), wait for the cluster to settle, read the final state and check the history.
 * The cluster is stopped and its private servers removed however the run ends.
 */
export interface ChaosOptions {
  seed: number;
  durationMs: number;
  faults: readonly FaultKind[];
  clients: number;
  /** Called about once a second with the progress line. */
  onProgress?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  schedule: FaultStep[];
  events: NemesisEvent[];
  /** Nodes found dead after the nemesis healed everything (they exited by themselves); restarted for the checks. */
  unexpectedExits: string[];
  tally: Record<AttemptKind, number>;
  attempts: number;
  result: CheckResult;
  elapsedMs: number;
}

export const chaosNodes = 3;
/** SKUs of the sale; stock grows with the run so that it sells through most of it, and out near the end. */
export const saleSkus = ['CHAOS-A', 'CHAOS-B', 'CHAOS-C', 'CHAOS-D'] as const;
const unitsPerSecondPerSku = 10;

export function saleStock(durationMs: number): SaleSku[] {
  const units = Math.max(50, Math.round((durationMs / 1_000) * unitsPerSecondPerSku));
  return saleSkus.map((sku, i) => ({ sku, onHand: i === saleSkus.length - 1 ? Math.round(units / 4) : units }));
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const startedMs = Date.now();
  const schedule = makeSchedule(opts.seed, opts.durationMs, opts.faults, chaosNodes);
  const env = await startChaosCluster(chaosNodes);
  try {
    const skus = saleStock(opts.durationMs);
    await stock(env, skus);
    const workload = startWorkload(env.cluster, opts.seed, `chaos-${opts.seed}-${randomBytes(3).toString('hex')}`, skus, opts.clients);
    const nemesis = createNemesis(env);
    const saleStartedMs = Date.now();
    const progress = setInterval(() => opts.onProgress?.(progressLine(saleStartedMs, workload.history.tally(), nemesis.current())), 1_000);
    let events: NemesisEvent[];
    try {
      events = await nemesis.run(schedule, Date.now() + opts.durationMs, opts.faults.length);
    } finally {
      clearInterval(progress);
    }
    const unexpectedExits = await restartDead(env);
    await workload.stop();
    const final = await readFinalState(env, skus.map((s) => s.sku));
    const history = workload.history;
    const result = checkHistory({ operations: [...history.operations.values()], attempts: history.attempts, final, initialStock: new Map(skus.map((s) => [s.sku, s.onHand])) });
    const report = { seed: opts.seed, schedule, events, unexpectedExits, tally: history.tally(), attempts: history.attempts.length, result, elapsedMs: Date.now() - startedMs };
    if (!result.valid) keepNodeLogs(env, opts.seed);
    return report;
  } catch (err) {
    keepNodeLogs(env, opts.seed);
    throw err;
  } finally {
    await env.stop();
  }
}

/** A failed run keeps each node's last log lines (the harness keeps a bounded tail) in the temp folder, and says where. */
function keepNodeLogs(env: ChaosCluster, seed: number): void {
  for (const node of env.cluster.nodes) {
    const file = join(tmpdir(), `chaos-${seed}-${node.id}.log`);
    writeFileSync(file, node.logs.join('\n'));
    process.stderr.write(`[chaos] ${node.id}'s log: ${file}\n`);
  }
}

async function stock(env: ChaosCluster, skus: readonly SaleSku[]): Promise<void> {
  const items = skus.map((s) => ({ sku: s.sku, name: `Chaos ${s.sku}`, priceMinor: 1_500, currency: 'USD', weightGrams: 100, onHand: s.onHand }));
  const r = await env.cluster.admin(0, 'POST', '/api/admin/catalog', { items });
  if (r.status !== 200 || (r.body.refused as unknown[]).length > 0) throw new Error(`stocking the sale failed: ${r.status} ${JSON.stringify(r.body)}`);
}

async function restartDead(env: ChaosCluster): Promise<string[]> {
  const dead = env.cluster.nodes.filter((n) => !n.running);
  const lines = dead.map((n) => `${n.id}: ${n.logs.slice(-5).join(' | ')}`);
  await Promise.all(dead.map((n) => n.restart()));
  return lines;
}

export function progressLine(startedMs: number, t: Record<AttemptKind, number>, fault: string): string {
  const s = ((Date.now() - startedMs) / 1_000).toFixed(0);
  const total = t.ok + t.verdict + t.refused + t.unknown;
  return `[chaos] ${s}s requests ${total} ok ${t.ok} failed ${t.verdict + t.refused} unknown ${t.unknown} fault: ${fault}`;
}
