import { loadavg } from 'node:os';
import type { LoadSummary, SecondStats } from './load-stats.js';
import type { BreakdownRow } from './prometheus.js';
import type { ContenderKind } from './servers.js';

/** One correctness check after a run: `ok: false` marks the run FAILED and the command exits non-zero. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * Everything one (scenario, variant, contender) run produced; stored as-is in the results JSON.
 * - passed: ran, every check held; failed: ran, a check failed; error: could not start or run (reason says why);
 * - not-run: deliberately not run (reason says why, e.g. the 2-node cluster is not built).
 */
export interface RunRecord {
  scenario: string;
  variant: string;
  params: Record<string, string | number | boolean>;
  contender: ContenderKind;
  status: 'passed' | 'failed' | 'error' | 'not-run';
  reason?: string;
  startedAt: string;
  wallSeconds: number;
  /**
   * The machine's 1-minute load average when the run started: anything else busy on the machine (another bench,
   * a build) shows here, and makes the figures of that run suspect.
   */
  hostLoadAtStart: number;
  /** Environment the server ran with (scenario settings and knobs; secrets left out). */
  serverEnv: Record<string, string>;
  connections: number | null;
  series: SecondStats[];
  load: LoadSummary | null;
  /** The scenario's headline figures (orders/s, p99, bytes per SKU, …); null when not measurable. */
  metrics: Record<string, number | null>;
  checks: Check[];
  /** boxoffice only: per-stage latency from its own /metrics histograms. */
  breakdown: BreakdownRow[];
  notes: string[];
  /** The server's last output lines, kept when the run failed or errored. */
  logTail: string[];
}

/** boxoffice ÷ contender for one metric of one variant; null when either side has no value. */
export interface Ratio {
  variant: string;
  metric: string;
  contender: ContenderKind;
  boxoffice: number | null;
  other: number | null;
  ratio: number | null;
  /** Whether a higher value is better (throughput) or worse (latency, bytes). */
  higherIsBetter: boolean;
}

export interface ScenarioResult {
  scenario: string;
  description: string;
  settings: Record<string, unknown>;
  runs: RunRecord[];
  ratios: Ratio[];
  notes: string[];
  /** Comparisons of the scenario's own (flash-hot: boxoffice with each payment provider), shown before the runs. */
  tables?: ResultTable[];
}

/** A table a scenario builds from its runs; numbers are rendered with formatNumber, null as a dash. */
export interface ResultTable {
  title: string;
  head: string[];
  rows: Array<Array<string | number | null>>;
  /** Sentences under the table: how to read it. */
  notes: string[];
}

/** A record before anything ran: status 'error' until the run says otherwise. */
export function newRecord(base: Pick<RunRecord, 'scenario' | 'variant' | 'params' | 'contender'> & Partial<RunRecord>): RunRecord {
  return {
    status: 'error',
    startedAt: new Date().toISOString(),
    wallSeconds: 0,
    hostLoadAtStart: Math.round(loadavg()[0]! * 100) / 100,
    serverEnv: {},
    connections: null,
    series: [],
    load: null,
    metrics: {},
    checks: [],
    breakdown: [],
    notes: [],
    logTail: [],
    ...base,
  };
}

/** A run deliberately not made, with the reason (it shows in the summary, the JSON and the Markdown). */
export const notRunRecord = (base: Pick<RunRecord, 'scenario' | 'variant' | 'params' | 'contender'>, reason: string): RunRecord =>
  newRecord({ ...base, status: 'not-run', reason });

export function ratiosFor(runs: RunRecord[], metrics: Array<{ name: string; higherIsBetter: boolean }>): Ratio[] {
  const out: Ratio[] = [];
  const variants = [...new Set(runs.map((r) => r.variant))];
  for (const variant of variants) {
    const inVariant = runs.filter((r) => r.variant === variant && r.status !== 'not-run');
    const box = inVariant.find((r) => r.contender === 'boxoffice');
    if (!box) continue;
    for (const other of inVariant) {
      if (other.contender === 'boxoffice') continue;
      for (const m of metrics) {
        const a = box.metrics[m.name] ?? null;
        const b = other.metrics[m.name] ?? null;
        const ratio = a !== null && b !== null && b !== 0 ? Math.round((a / b) * 100) / 100 : null;
        out.push({ variant, metric: m.name, contender: other.contender, boxoffice: a, other: b, ratio, higherIsBetter: m.higherIsBetter });
      }
    }
  }
  return out;
}
