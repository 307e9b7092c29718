import { LatencyHistogram } from '../../../bench/lib/histogram.js';
import type { SecondStats } from '../../../bench/lib/load-stats.js';
import { newRecord, type RunRecord, type ScenarioResult } from '../../../bench/lib/run-record.js';
import type { ResultHeader } from '../../../bench/lib/result-header.js';

/** Shared fixtures of the rendering tests: a small scenario result with known series. */
export function second(t: number, responses: number, p99Ms: number, phase = 'sale'): SecondStats {
  const latency = new LatencyHistogram();
  latency.recordMs(p99Ms);
  return { t, phase, responses, byStatus: { '201': responses }, byOp: { checkout: { '201': responses } }, errors: 0, timeouts: 0, latency: latency.summary() };
}

export function run(contender: RunRecord['contender'], variant: string, metrics: Record<string, number | null>, series: SecondStats[]): RunRecord {
  return newRecord({ scenario: 'flash-hot', variant, params: {}, contender, status: 'passed', metrics, series, checks: [{ name: 'oversell', ok: true, detail: '0' }] });
}

export const header: ResultHeader = {
  date: '2030-01-02',
  command: 'npm run bench -- --scenario flash-hot --quick',
  commit: '0123456789abcdef0123456789abcdef01234567',
  dirty: false,
  machine: { cores: 2, cpuModel: 'Test CPU', memoryBytes: 8 * 1024 ** 3, platform: 'linux', release: '6.0', node: 'v20.0.0' },
  postgres: '15.0',
  redis: '7.0',
  quick: true,
  knobs: { DB_POOL_SIZE: '16' },
};

export function scenarioResult(): ScenarioResult {
  const runs = [
    run('boxoffice', 'stock=2000 pay=0ms', { ordersPerSec: 1500, orderP99Ms: 20.5 }, [second(1, 1400, 25), second(2, 1600, 18), second(2.2, 100, 15)]),
    run('pg-conditional', 'stock=2000 pay=0ms', { ordersPerSec: 300, orderP99Ms: 800 }, [second(1, 250, 900), second(2, 350, 700)]),
  ];
  return {
    scenario: 'flash-hot',
    description: 'one hot SKU <& friends>',
    settings: { connections: 256 },
    runs,
    ratios: [{ variant: 'stock=2000 pay=0ms', metric: 'ordersPerSec', contender: 'pg-conditional', boxoffice: 1500, other: 300, ratio: 5, higherIsBetter: true }],
    notes: ['a note | with a pipe'],
  };
}

/**
 * A small well-formedness check: every tag closes in order, attributes are quoted, no stray '<' or '&' in text.
 * Enough to catch the mistakes a hand-written SVG can make, without an XML parser dependency.
 */
export function wellFormedXmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (const m of xml.matchAll(tag)) {
    const text = xml.slice(last, m.index);
    if (/[<>]/.test(text)) problems.push(`stray angle bracket near ${JSON.stringify(text.slice(0, 40))}`);
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) problems.push(`unescaped & near ${JSON.stringify(text.slice(0, 40))}`);
    last = m.index! + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else stack.push(name!);
  }
  if (/[<>]/.test(xml.slice(last).trim())) problems.push('trailing markup that is not a tag');
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}
