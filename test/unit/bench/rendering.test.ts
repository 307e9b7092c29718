import { describe, expect, it } from 'vitest';
import { chartGroups, seriesPoints } from '../../../bench/lib/chart-data.js';
import { cell, formatNumber, renderMarkdown } from '../../../bench/lib/markdown.js';
import { renderSummary } from '../../../bench/lib/summary.js';
import { escapeXml, niceCeiling, renderSvgChart } from '../../../bench/lib/svg-chart.js';
import { header, run, scenarioResult, second, wellFormedXmlProblems } from './fixtures.js';

describe('SVG chart', () => {
  it('renders well-formed SVG with one polyline per contender and panel', () => {
    const svg = renderSvgChart('flash-hot <quick> & co', chartGroups(scenarioResult()));
    expect(wellFormedXmlProblems(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(4); // 2 contenders × (throughput, p99)
    expect(svg).toContain('flash-hot &lt;quick&gt; &amp; co');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('escapes contender and variant names and stays well-formed with no series at all', () => {
    const result = scenarioResult();
    result.runs[0]!.variant = 'a<b & "c"';
    expect(wellFormedXmlProblems(renderSvgChart('x', chartGroups(result)))).toEqual([]);
    const empty = renderSvgChart('memory', []);
    expect(wellFormedXmlProblems(empty)).toEqual([]);
    expect(empty).toContain('No time series');
  });

  it('draws flat zero series without dividing by zero', () => {
    const svg = renderSvgChart('zeros', chartGroups({ ...scenarioResult(), runs: [run('boxoffice', 'v', {}, [second(1, 0, 0), second(2, 0, 0)])] }));
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(wellFormedXmlProblems(svg)).toEqual([]);
  });

  it('turns per-second samples into rates and leaves out the short partial sample at the stop', () => {
    const points = seriesPoints([second(1, 1000, 10), second(2.5, 3000, 20), second(2.7, 50, 30)]);
    expect(points.throughput).toEqual([[1, 1000], [2.5, 2000]]);
    expect(points.p99).toEqual([[1, 10], [2.5, 20]]);
  });

  it.each([
    [0, 1],
    [7, 8],
    [10.4, 12],
    [1234, 1500],
    [99_000, 100_000],
    [0.03, 0.03],
  ])('rounds an axis top of %s up to %s', (value, top) => {
    expect(niceCeiling(value)).toBeCloseTo(top, 9);
  });

  it('is checked by a well-formedness test that does catch broken markup', () => {
    expect(wellFormedXmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(wellFormedXmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(wellFormedXmlProblems('<svg><text x=1>a</text></svg>')).not.toEqual([]);
    expect(wellFormedXmlProblems('<svg><g/><text x="1">a &amp; b</text></svg>')).toEqual([]);
  });

  it('escapes the five XML special characters', () => {
    expect(escapeXml(`<a href="x">Tom & Jerry's</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;');
  });
});

describe('Markdown results', () => {
  it('names the command, commit and machine and has one row per contender with its figures', () => {
    const md = renderMarkdown(header, scenarioResult());
    expect(md).toContain('# flash-hot — 2030-01-02');
    expect(md).toContain('`npm run bench -- --scenario flash-hot --quick`');
    expect(md).toContain('0123456789abcdef0123456789abcdef01234567');
    expect(md).toContain('2 × Test CPU, 8.0 GiB');
    expect(md).toContain('knobs: DB_POOL_SIZE=16');
    expect(md).toContain('| contender | status | ordersPerSec | orderP99Ms |');
    expect(md).toContain('| boxoffice | passed | 1,500 | 20.5 |');
    expect(md).toContain('| pg-conditional | passed | 300 | 800 |');
    expect(md).toContain('| stock=2000 pay=0ms | ordersPerSec | pg-conditional | 1,500 | 300 | 5× |');
    expect(md).toContain('All 2 checks passed.');
    expect(md).toContain('- a note | with a pipe');
  });

  it("shows a scenario's own tables first, numbers formatted and null as a dash", () => {
    const result = { ...scenarioResult(), tables: [{ title: 'boxoffice by payment provider', head: ['variant', 'payments', 'orders/s', 'orders/s ÷ simulated'], rows: [['stock=2000 pay=0ms', 'simulated', 1500, null], ['stock=2000 pay=0ms', 'stripe', 1234.5, 0.82]], notes: ['how to read it'] }] };
    const md = renderMarkdown(header, result);
    expect(md).toContain('## boxoffice by payment provider\n\n| variant | payments | orders/s | orders/s ÷ simulated |');
    expect(md).toContain('| stock=2000 pay=0ms | simulated | 1,500 | — |');
    expect(md).toContain('| stock=2000 pay=0ms | stripe | 1,235 | 0.82 |');
    expect(md).toContain('- how to read it');
    expect(md.indexOf('## boxoffice by payment provider')).toBeLessThan(md.indexOf('## stock=2000 pay=0ms'));
  });

  it('keeps every table row the same width and escapes pipes inside cells', () => {
    const result = scenarioResult();
    result.runs[0]!.checks = [{ name: 'conservation', ok: false, detail: 'a | b' }];
    const md = renderMarkdown(header, result);
    expect(md).toContain('1 of 2 checks FAILED');
    expect(md).toContain('| stock=2000 pay=0ms | boxoffice | conservation | a \\| b |');
    for (const block of md.split('\n\n').filter((b) => b.startsWith('|'))) {
      const widths = block.split('\n').map((line) => line.split(/(?<!\\)\|/).length);
      expect(new Set(widths).size).toBe(1);
    }
  });

  it('formats numbers: thousands separators, two decimals below 100, a dash for nothing', () => {
    expect([formatNumber(1234567), formatNumber(123.456), formatNumber(12.3456), formatNumber(null), formatNumber(Number.NaN)]).toEqual(['1,234,567', '123', '12.35', '—', '—']);
    expect(cell('a|b\nc')).toBe('a\\|b c');
  });
});

describe('summary table', () => {
  it('has a row per run, the status in capitals when not passed, and the ratios', () => {
    const result = scenarioResult();
    result.runs[1]!.status = 'error';
    result.runs[1]!.reason = 'pg-conditional did not start: exited with code 1\n  last output: …';
    const text = renderSummary([result]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^scenario\s+variant\s+contender\s+status\s+figures\s+checks$/);
    expect(lines.find((l) => l.includes('boxoffice'))).toMatch(/passed\s+ordersPerSec=1,500 orderP99Ms=20.5\s+1 ok/);
    expect(lines.find((l) => l.includes('pg-conditional did not start'))).toMatch(/ERROR/);
    expect(text).toContain('ordersPerSec: boxoffice ÷ pg-conditional = 5×');
  });

  it("prints a scenario's own tables padded, under the scenario's name", () => {
    const result = { ...scenarioResult(), tables: [{ title: 'by provider', head: ['payments', 'orders/s'], rows: [['simulated', 1500], ['stripe', null]], notes: ['a note'] }] };
    const lines = renderSummary([result]).split('\n');
    const at = lines.indexOf('flash-hot: by provider');
    expect(lines.slice(at + 1, at + 6)).toEqual(['payments   orders/s', '---------  --------', 'simulated  1,500', 'stripe     —', '  a note']);
  });
});
