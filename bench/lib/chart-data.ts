import type { SecondStats } from './load-stats.js';
import type { ScenarioResult } from './run-record.js';
import type { ChartGroup } from './svg-chart.js';

/**
 * Turns a scenario's per-second series into chart groups: per variant, a throughput panel (answers per second,
 * every status) and a p99 panel, one line per contender. A sample shorter than half a second (the stop's partial
 * second) is left out: as a rate it is mostly noise.
 */
const shortestSampleSeconds = 0.5;

export function seriesPoints(series: SecondStats[]): { throughput: Array<[number, number]>; p99: Array<[number, number]> } {
  const throughput: Array<[number, number]> = [];
  const p99: Array<[number, number]> = [];
  let previous = 0;
  for (const s of series) {
    const interval = s.t - previous;
    previous = s.t;
    if (interval < shortestSampleSeconds) continue;
    throughput.push([s.t, Math.round(s.responses / interval)]);
    p99.push([s.t, s.latency.p99Ms]);
  }
  return { throughput, p99 };
}

export function chartGroups(result: ScenarioResult): ChartGroup[] {
  const variants = [...new Set(result.runs.filter((r) => r.series.length > 0).map((r) => r.variant))];
  return variants.map((variant) => {
    const runs = result.runs.filter((r) => r.variant === variant && r.series.length > 0);
    const points = runs.map((r) => ({ name: r.contender, ...seriesPoints(r.series) }));
    return {
      title: variant,
      panels: [
        { title: 'throughput: answers per second', unit: 'req/s', lines: points.map((p) => ({ name: p.name, points: p.throughput })) },
        { title: 'latency p99 per second', unit: 'ms', lines: points.map((p) => ({ name: p.name, points: p.p99 })) },
      ],
    };
  });
}
