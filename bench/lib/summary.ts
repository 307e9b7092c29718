import { formatNumber, statusLabel, tableCell } from './markdown.js';
import type { ResultTable, ScenarioResult } from './run-record.js';

/**
 * The plain-text table printed when the command ends: one row per run with its status, first headline figures and
 * failed checks, then the scenarios' own tables (flash-hot's payment providers), then the ratios. Columns are padded
 * to the widest cell so it reads in a terminal.
 */
const headlineColumns = 4;

export function renderSummary(results: ScenarioResult[]): string {
  const rows: string[][] = [['scenario', 'variant', 'contender', 'status', 'figures', 'checks']];
  for (const result of results) {
    for (const r of result.runs) {
      const figures = Object.entries(r.metrics)
        .filter(([, v]) => v !== null)
        .slice(0, headlineColumns)
        .map(([k, v]) => `${k}=${formatNumber(v)}`)
        .join(' ');
      const failed = r.checks.filter((c) => !c.ok).length;
      const checks = r.checks.length === 0 ? '—' : failed === 0 ? `${r.checks.length} ok` : `${failed} FAILED`;
      rows.push([result.scenario, r.variant, r.contender, statusLabel(r), r.reason && r.status !== 'passed' ? r.reason.split('\n')[0]!.slice(0, 100) : figures, checks]);
    }
  }
  const text = padded(rows);
  const tables = results.flatMap((res) => (res.tables ?? []).flatMap((t) => ['', `${res.scenario}: ${t.title}`, ...plainTable(t)]));
  const ratios = results.flatMap((res) =>
    res.ratios.filter((q) => q.ratio !== null).map((q) => `  ${res.scenario}  ${q.variant}  ${q.metric}: boxoffice ÷ ${q.contender} = ${q.ratio}×${q.higherIsBetter ? '' : ' (lower is better)'}`),
  );
  return [...text, ...tables, ...(ratios.length > 0 ? ['', 'ratios (same run):', ...ratios] : [])].join('\n');
}

/** Rows padded to their widest cell, a dashed line under the first. */
function padded(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const text = rows.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  text.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return text;
}

function plainTable(t: ResultTable): string[] {
  return [...padded([t.head, ...t.rows.map((r) => r.map(tableCell))]), ...t.notes.map((n) => `  ${n}`)];
}
