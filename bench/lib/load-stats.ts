import { LatencyHistogram, type LatencySummary } from './histogram.js';

/**
 * Counting inside the load worker: every answer is recorded by operation ('checkout', 'hold', …), status and phase
 * ('sale', 'sold-out', …: the parent names phases as it sees the run progress), into per-second stats for the
 * progress line and chart, and into per-phase totals for the summary. Pure bookkeeping, no clock of its own:
 * callers pass `nowMs` (milliseconds since the load started).
 */
export interface SecondStats {
  /** Seconds since the load started, at the end of this sample. */
  t: number;
  phase: string;
  responses: number;
  byStatus: Record<string, number>;
  byOp: Record<string, Record<string, number>>;
  errors: number;
  timeouts: number;
  latency: LatencySummary;
}

export interface OpSummary {
  byStatus: Record<string, number>;
  latency: LatencySummary;
  /** Latency of answers by class ('2xx', '4xx', '5xx'): orders and sold-out answers are different work. */
  latencyByClass: Record<string, LatencySummary>;
  /** When (ms since the load started) the first and the last 2xx of this operation arrived in this phase. */
  first2xxMs: number | null;
  last2xxMs: number | null;
}

export interface PhaseSummary {
  name: string;
  startMs: number;
  endMs: number;
  responses: number;
  errors: number;
  timeouts: number;
  byOp: Record<string, OpSummary>;
}

/**
 * Answers per fixed-width time bin, per operation and status class: finer than the one-second samples, for events
 * shorter than a second (a partition move's pause). Kept only when the load asks for it.
 */
export interface LoadTimeline {
  binMs: number;
  /** Wall-clock time (Date.now()) of the load's t = 0, to line bins up with events the harness timed. */
  startedAtEpochMs: number;
  /** op → status class ('2xx', …) → answers per bin, bin i covering [i·binMs, (i+1)·binMs) since t = 0. */
  byOp: Record<string, Record<string, number[]>>;
  /** True when the run outlasted binsMax bins: later answers are not in the timeline (they are everywhere else). */
  truncated: boolean;
}

export interface TimelineOptions {
  binMs: number;
  binsMax: number;
  startedAtEpochMs: number;
}

export interface LoadSummary {
  durationMs: number;
  phases: PhaseSummary[];
  /** Every phase together: the whole-run percentiles. */
  whole: PhaseSummary;
  timeline?: LoadTimeline;
}

export const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;

interface OpAccumulator {
  byStatus: Record<string, number>;
  byClass: Map<string, LatencyHistogram>;
  first2xxMs: number | null;
  last2xxMs: number | null;
}

interface PhaseAccumulator {
  name: string;
  startMs: number;
  endMs: number | null;
  responses: number;
  errors: number;
  timeouts: number;
  ops: Map<string, OpAccumulator>;
}

const bump = (counts: Record<string, number>, key: string, n = 1) => {
  counts[key] = (counts[key] ?? 0) + n;
};

export class LoadStats {
  private phases: PhaseAccumulator[] = [];
  private whole = LoadStats.emptyPhase('whole', 0);
  private second = LoadStats.emptySecond();
  private lastSecondMs = 0;
  private readonly timeline: (LoadTimeline & { binsMax: number }) | null;

  constructor(firstPhase: string, timeline?: TimelineOptions) {
    this.phases.push(LoadStats.emptyPhase(firstPhase, 0));
    this.timeline = timeline ? { binMs: timeline.binMs, binsMax: timeline.binsMax, startedAtEpochMs: timeline.startedAtEpochMs, byOp: {}, truncated: false } : null;
  }

  get phase(): string {
    return this.current().name;
  }

  setPhase(name: string, nowMs: number): void {
    if (name === this.phase) return;
    this.current().endMs = nowMs;
    this.phases.push(LoadStats.emptyPhase(name, nowMs));
  }

  record(op: string, status: number, latencyMs: number, nowMs: number): void {
    const code = String(status);
    for (const phase of [this.current(), this.whole]) LoadStats.recordInPhase(phase, op, code, status, latencyMs, nowMs);
    const s = this.second;
    s.responses += 1;
    bump(s.byStatus, code);
    bump((s.byOp[op] ??= {}), code);
    s.latency.recordMs(latencyMs);
    if (this.timeline) LoadStats.recordInTimeline(this.timeline, op, statusClass(status), nowMs);
  }

  recordError(kind: 'timeout' | 'connection'): void {
    for (const phase of [this.current(), this.whole, this.second]) {
      phase.errors += 1;
      if (kind === 'timeout') phase.timeouts += 1;
    }
  }

  /** Closes the current one-second sample and starts the next. */
  takeSecond(nowMs: number): SecondStats {
    const s = this.second;
    this.second = LoadStats.emptySecond();
    this.lastSecondMs = nowMs;
    return {
      t: Math.round(nowMs / 100) / 10,
      phase: this.phase,
      responses: s.responses,
      byStatus: s.byStatus,
      byOp: s.byOp,
      errors: s.errors,
      timeouts: s.timeouts,
      latency: s.latency.summary(),
    };
  }

  /** Milliseconds since the last sample was taken (the worker takes one each second). */
  sinceLastSecondMs(nowMs: number): number {
    return nowMs - this.lastSecondMs;
  }

  summary(nowMs: number): LoadSummary {
    const phaseSummary = (p: PhaseAccumulator): PhaseSummary => ({
      name: p.name,
      startMs: p.startMs,
      endMs: p.endMs ?? nowMs,
      responses: p.responses,
      errors: p.errors,
      timeouts: p.timeouts,
      byOp: Object.fromEntries([...p.ops].map(([op, acc]) => [op, LoadStats.opSummary(acc)])),
    });
    const summary: LoadSummary = { durationMs: nowMs, phases: this.phases.map(phaseSummary), whole: phaseSummary(this.whole) };
    if (this.timeline) {
      const { binsMax: _binsMax, ...timeline } = this.timeline;
      summary.timeline = timeline;
    }
    return summary;
  }

  private static recordInTimeline(t: LoadTimeline & { binsMax: number }, op: string, cls: string, nowMs: number): void {
    const bin = Math.floor(nowMs / t.binMs);
    if (bin >= t.binsMax) {
      t.truncated = true;
      return;
    }
    const bins = ((t.byOp[op] ??= {})[cls] ??= []);
    while (bins.length <= bin) bins.push(0);
    bins[bin]! += 1;
  }

  private static recordInPhase(phase: PhaseAccumulator, op: string, code: string, status: number, latencyMs: number, nowMs: number): void {
    phase.responses += 1;
    const acc = phase.ops.get(op) ?? LoadStats.emptyOp();
    phase.ops.set(op, acc);
    bump(acc.byStatus, code);
    const cls = statusClass(status);
    const hist = acc.byClass.get(cls) ?? new LatencyHistogram();
    acc.byClass.set(cls, hist);
    hist.recordMs(latencyMs);
    if (cls === '2xx') {
      acc.first2xxMs ??= nowMs;
      acc.last2xxMs = nowMs;
    }
  }

  private current(): PhaseAccumulator {
    return this.phases[this.phases.length - 1]!;
  }

  private static opSummary(acc: OpAccumulator): OpSummary {
    const all = new LatencyHistogram();
    const latencyByClass: Record<string, LatencySummary> = {};
    for (const [cls, hist] of acc.byClass) {
      all.merge(hist);
      latencyByClass[cls] = hist.summary();
    }
    return { byStatus: acc.byStatus, latency: all.summary(), latencyByClass, first2xxMs: acc.first2xxMs, last2xxMs: acc.last2xxMs };
  }

  private static emptyPhase(name: string, startMs: number): PhaseAccumulator {
    return { name, startMs, endMs: null, responses: 0, errors: 0, timeouts: 0, ops: new Map() };
  }

  private static emptyOp(): OpAccumulator {
    return { byStatus: {}, byClass: new Map(), first2xxMs: null, last2xxMs: null };
  }

  private static emptySecond() {
    return { responses: 0, byStatus: {} as Record<string, number>, byOp: {} as Record<string, Record<string, number>>, errors: 0, timeouts: 0, latency: new LatencyHistogram() };
  }
}
