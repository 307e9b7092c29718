import type { ResultHeader } from './result-header.js';
import type { ResultTable, RunRecord, ScenarioResult } from './run-record.js';

/**
 * The Markdown next to each results JSON: header (command, commit, machine), the scenario's own comparison tables,
 * one table per variant with every contender's headline figures, the ratios, failed checks, boxoffice's latency
 * breakdown and the notes.
 */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Number.isInteger(n) || Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return String(Math.round(n * 100) / 100);
}

export const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

/** A cell of a scenario's own table: numbers formatted, null as a dash. */
export const tableCell = (v: string | number | null): string => (typeof v === 'string' ? v : formatNumber(v));

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

export function statusLabel(r: RunRecord): string {
  return r.status === 'passed' ? 'passed' : r.status.toUpperCase();
}

export function renderMarkdown(header: ResultHeader, result: ScenarioResult): string {
  const m = header.machine;
  const knobs = Object.entries(header.knobs).map(([k, v]) => `${k}=${v}`).join(', ') || "none (each server's defaults)";
  const lines: string[] = [
    `# ${result.scenario} — ${header.date}`,
    '',
    result.description,
    '',
    `- Command: \`${header.command}\``,
    `- Commit: \`${header.commit}\`${header.dirty ? ' (working tree had uncommitted changes)' : ''}`,
    `- Machine: ${m.cores} × ${m.cpuModel}, ${gib(m.memoryBytes)}, ${m.platform} ${m.release}, Node ${m.node}`,
    `- Services: PostgreSQL ${header.postgres}, Redis ${header.redis}`,
    `- Mode: ${header.quick ? 'quick' : 'full'}; knobs: ${knobs}`,
    `- Settings: ${cell(JSON.stringify(result.settings))}`,
  ];
  for (const t of result.tables ?? []) lines.push(...resultTable(t));
  const variants = [...new Set(result.runs.map((r) => r.variant))];
  for (const variant of variants) {
    const runs = result.runs.filter((r) => r.variant === variant);
    const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))];
    lines.push('', `## ${variant}`, '');
    lines.push(...table(['contender', 'status', ...metricNames], runs.map((r) => [r.contender, statusLabel(r), ...metricNames.map((k) => formatNumber(r.metrics[k]))])));
    for (const r of runs) if (r.reason) lines.push('', `- ${r.contender}: ${r.reason}`);
  }
  if (result.ratios.length > 0) {
    lines.push('', '## Ratios (boxoffice ÷ contender, same run)', '');
    lines.push(...table(['variant', 'metric', 'contender', 'boxoffice', 'contender value', 'ratio'], result.ratios.map((q) => [q.variant, `${q.metric}${q.higherIsBetter ? '' : ' (lower is better)'}`, q.contender, formatNumber(q.boxoffice), formatNumber(q.other), q.ratio === null ? '—' : `${q.ratio}×`])));
  }
  const failed = result.runs.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => [r.variant, r.contender, c.name, c.detail]));
  const checkCount = result.runs.reduce((n, r) => n + r.checks.length, 0);
  lines.push('', '## Correctness', '', failed.length === 0 ? `All ${checkCount} checks passed.` : `${failed.length} of ${checkCount} checks FAILED:`);
  if (failed.length > 0) lines.push('', ...table(['variant', 'contender', 'check', 'detail'], failed));
  const withBreakdown = result.runs.filter((r) => r.breakdown.length > 0);
  if (withBreakdown.length > 0) {
    lines.push('', '## Latency breakdown (boxoffice /metrics, this run only)');
    for (const r of withBreakdown) {
      lines.push('', `### ${r.variant}`, '');
      lines.push(...table(['histogram', 'count', 'mean ms', 'p50 ms', 'p99 ms'], r.breakdown.map((b) => [b.metric, formatNumber(b.count), formatNumber(b.meanMs), formatNumber(b.p50Ms), formatNumber(b.p99Ms)])));
    }
  }
  if (result.notes.length > 0) lines.push('', '## Notes', '', ...result.notes.map((n) => `- ${n}`));
  lines.push('');
  return lines.join('\n');
}

function resultTable(t: ResultTable): string[] {
  const notes = t.notes.length > 0 ? ['', ...t.notes.map((n) => `- ${n}`)] : [];
  return ['', `## ${t.title}`, '', ...table(t.head, t.rows.map((r) => r.map(tableCell))), ...notes];
}
