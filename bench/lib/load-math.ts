import type { LatencySummary } from './histogram.js';
import type { Check } from './run-record.js';
import type { LoadSummary, LoadTimeline, OpSummary, PhaseSummary } from './load-stats.js';

/**
 * Figures derived from a load summary: counts and rates by operation and status, per phase. Pure functions, so
 * the scenarios stay short and the arithmetic is tested once.
 */
export const phaseNamed = (summary: LoadSummary, name: string): PhaseSummary | undefined => summary.phases.find((p) => p.name === name);

export function countOf(phase: PhaseSummary | undefined, op: string, statuses: (status: number) => boolean = () => true): number {
  const byStatus = phase?.byOp[op]?.byStatus ?? {};
  let n = 0;
  for (const [code, count] of Object.entries(byStatus)) if (statuses(Number(code))) n += count;
  return n;
}

export const is2xx = (s: number) => s >= 200 && s < 300;
export const is4xx = (s: number) => s >= 400 && s < 500;
export const is5xx = (s: number) => s >= 500;

export const phaseSeconds = (phase: PhaseSummary | undefined): number => (phase ? Math.max(0, phase.endMs - phase.startMs) / 1000 : 0);

/** count / seconds rounded to 0.1, or null when nothing was measured. */
export function rate(count: number, seconds: number): number | null {
  return seconds > 0 ? Math.round((count / seconds) * 10) / 10 : null;
}

export function opLatency(phase: PhaseSummary | undefined, op: string, cls?: '2xx' | '4xx' | '5xx'): LatencySummary | null {
  const o: OpSummary | undefined = phase?.byOp[op];
  if (!o) return null;
  return cls ? (o.latencyByClass[cls] ?? null) : o.latency;
}

/** Totals by status class over every operation of a phase. */
export function classTotals(phase: PhaseSummary): { s2xx: number; s4xx: number; s5xx: number; other: number } {
  const t = { s2xx: 0, s4xx: 0, s5xx: 0, other: 0 };
  for (const op of Object.values(phase.byOp)) {
    for (const [code, n] of Object.entries(op.byStatus)) {
      const s = Number(code);
      if (is2xx(s)) t.s2xx += n;
      else if (is4xx(s)) t.s4xx += n;
      else if (is5xx(s)) t.s5xx += n;
      else t.other += n;
    }
  }
  return t;
}

/**
 * The error checks every run gets: no 5xx (or other non-2xx/4xx) answers, no timeouts, no connection errors.
 * A 4xx is a business answer (sold out, overloaded with Retry-After); anything else is an error.
 */
export function errorChecks(summary: LoadSummary): Check[] {
  const whole = summary.whole;
  const t = classTotals(whole);
  const codes = Object.entries(
    Object.values(whole.byOp).reduce<Record<string, number>>((acc, op) => {
      for (const [code, n] of Object.entries(op.byStatus)) if (!is2xx(Number(code)) && !is4xx(Number(code))) acc[code] = (acc[code] ?? 0) + n;
      return acc;
    }, {}),
  )
    .map(([code, n]) => `${code}×${n}`)
    .join(', ');
  const connectionErrors = whole.errors - whole.timeouts;
  return [
    { name: 'no error answers (non-2xx/4xx)', ok: t.s5xx + t.other === 0, detail: t.s5xx + t.other === 0 ? '0' : codes },
    { name: 'no request timeouts', ok: whole.timeouts === 0, detail: String(whole.timeouts) },
    { name: 'no connection errors', ok: connectionErrors === 0, detail: String(connectionErrors) },
  ];
}

/** Checkouts the client saw acknowledged: 201 confirmed plus 202 pending (both promise an order row). */
export const acknowledgedOrders = (summary: LoadSummary): number => countOf(summary.whole, 'checkout', (s) => s === 201 || s === 202);

/** Answers of `op` in status class `cls` ('2xx', …) in the timeline bins that start in [fromMs, toMs) of the load. */
export function timelineCount(t: LoadTimeline, op: string, cls: string, fromMs: number, toMs: number): number {
  const bins = t.byOp[op]?.[cls] ?? [];
  let n = 0;
  for (let i = Math.max(0, Math.ceil(fromMs / t.binMs)); i < bins.length && i * t.binMs < toMs; i++) n += bins[i]!;
  return n;
}

/** The longest stretch (ms, whole bins) of [fromMs, toMs) in which no answer of `op` in class `cls` arrived. */
export function longestSilenceMs(t: LoadTimeline, op: string, cls: string, fromMs: number, toMs: number): number {
  const bins = t.byOp[op]?.[cls] ?? [];
  let longest = 0;
  let current = 0;
  for (let i = Math.max(0, Math.ceil(fromMs / t.binMs)); i * t.binMs < toMs; i++) {
    current = (bins[i] ?? 0) === 0 ? current + 1 : 0;
    longest = Math.max(longest, current);
  }
  return longest * t.binMs;
}
