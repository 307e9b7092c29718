import { is2xx, is4xx } from './load-math.js';
import type { SecondStats } from './load-stats.js';

/**
 * The one line per second the harness prints while a run is under load, e.g.
 * `flash-hot  stock=2000 pay=0ms  boxoffice       t=  3s  12,345 req/s  2xx 1,234  4xx 11,111  err 0  p99 12.3 ms  [sale]`
 */
const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatMs(ms: number): string {
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function formatProgress(label: string, contender: string, s: SecondStats, intervalSeconds: number): string {
  let n2xx = 0;
  let n4xx = 0;
  let other = 0;
  for (const [code, n] of Object.entries(s.byStatus)) {
    const status = Number(code);
    if (is2xx(status)) n2xx += n;
    else if (is4xx(status)) n4xx += n;
    else other += n;
  }
  const perSecond = intervalSeconds > 0 ? s.responses / intervalSeconds : 0;
  return [
    label,
    contender.padEnd(14),
    `t=${String(Math.round(s.t)).padStart(3)}s`,
    `${int(perSecond).padStart(8)} req/s`,
    `2xx ${int(n2xx).padStart(7)}`,
    `4xx ${int(n4xx).padStart(7)}`,
    `err ${int(other + s.errors)}`,
    `p99 ${formatMs(s.latency.p99Ms).padStart(9)}`,
    `[${s.phase}]`,
  ].join('  ');
}
