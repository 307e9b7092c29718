import type { ZodType, ZodTypeDef } from 'zod';
import {
  bulkMoveResultSchema,
  clusterStatusSchema,
  isolateResultSchema,
  moveResultSchema,
  partitionListSchema,
  type ApiError,
  type BulkMoveResult,
  type ClusterStatus,
  type IsolateResult,
  type MoveResult,
  type PartitionList,
} from './admin-api.js';
import type { CliCommand } from './cli-commands.js';

/**
 * Human output of the CLI: pure functions from an answer to text (no trailing newline). `--json` bypasses them.
 */

/** `0-12, 15, 40-41`: sorted, repeats dropped, runs of consecutive numbers as ranges; `none` when empty. */
export function formatRanges(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  if (sorted.length === 0) return 'none';
  const parts: string[] = [];
  let start = sorted[0]!;
  let end = start;
  for (const n of sorted.slice(1)) {
    if (n === end + 1) {
      end = n;
      continue;
    }
    parts.push(start === end ? `${start}` : `${start}-${end}`);
    start = end = n;
  }
  parts.push(start === end ? `${start}` : `${start}-${end}`);
  return parts.join(', ');
}

/** Columns padded to their widest cell, two spaces apart, no trailing spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const ms = (x: number) => `${Math.round(x)} ms`;
/** Node ids sort like people count: node-2 before node-10. */
const byNodeId = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export function formatStatus(s: ClusterStatus): string {
  const mode = s.mode === 'cluster' ? 'cluster mode' : 'single-node mode (no REDIS_URL)';
  const lines = [
    `${s.nodeId} answers: ${mode}, ${plural(s.partitions, 'partition')}, routes version ${s.routesVersion}`,
    `coordinator: ${s.coordinator ?? 'none'}`,
    `unowned partitions: ${s.unowned}`,
    '',
  ];
  if (s.members.length === 0) return [...lines, 'members: none'].join('\n');
  const members = [...s.members].sort((a, b) => byNodeId(a.nodeId, b.nodeId));
  const rows = members.map((m) => [
    m.nodeId,
    // A node without REDIS_URL has no inter-node transport and says port 0.
    m.port === 0 ? '-' : `${m.host}:${m.port}`,
    String(m.partitions),
    m.drained ? 'yes' : 'no',
    m.isolated.length === 0 ? '-' : formatRanges(m.isolated),
  ]);
  return [...lines, formatTable(['node', 'address', 'partitions', 'drained', 'isolated'], rows)].join('\n');
}

/** One line per node (`node-1  0-12, 15 (14 partitions)`), then the pinned and isolated partitions if any. */
export function formatPartitions(list: PartitionList, node: string | null): string {
  const byNode = new Map<string, number[]>();
  if (node !== null) byNode.set(node, []);
  for (const p of list.partitions) {
    const owner = p.nodeId ?? 'unowned';
    byNode.set(owner, [...(byNode.get(owner) ?? []), p.partition]);
  }
  const owners = [...byNode.keys()].sort((a, b) => (a === 'unowned' ? 1 : b === 'unowned' ? -1 : byNodeId(a, b)));
  const rows: [string, string][] = owners.map((o) => {
    const partitions = byNode.get(o)!;
    return [o, `${formatRanges(partitions)} (${plural(partitions.length, 'partition')})`];
  });
  const pinned = list.partitions.filter((p) => p.pinned).map((p) => p.partition);
  const isolated = list.partitions.filter((p) => p.isolated).map((p) => p.partition);
  if (pinned.length > 0) rows.push(['pinned', formatRanges(pinned)]);
  if (isolated.length > 0) rows.push(['isolated', formatRanges(isolated)]);
  if (rows.length === 0) return 'no partitions';
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, text]) => `${label.padEnd(width)}  ${text}`).join('\n');
}

export function formatMove(r: MoveResult): string {
  return `moved partition ${r.partition} ${r.from ?? 'unowned'} → ${r.to} (epoch ${r.epoch}, pause ${ms(r.pauseMs)})`;
}

/** drain, undrain and rebalance: what was done and the longest pause any moved partition saw. */
export function formatBulkMove(verb: 'drained' | 'undrained' | 'rebalanced', r: BulkMoveResult): string {
  const what = verb === 'rebalanced' ? 'rebalanced' : `${verb} ${r.nodeId ?? '?'}`;
  if (r.moved === 0) return `${what}: no partition had to move`;
  return `${what}: moved ${plural(r.moved, 'partition')} (longest pause ${ms(r.pauseMsMax)})`;
}

export function formatIsolate(r: IsolateResult): string {
  const moves = r.moved === 0 ? 'no partition had to move' : `moved ${plural(r.moved, 'partition')}, longest pause ${ms(r.pauseMsMax)}`;
  return `isolated SKU ${r.sku}: partition ${r.partition} alone on ${r.nodeId} (${moves})`;
}

/** `error CODE: message`, then one indented line per detail. */
export function formatError(e: Pick<ApiError, 'code' | 'message'> & { details?: Record<string, unknown> }): string {
  const details = Object.entries(e.details ?? {}).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [`error ${e.code}: ${e.message}`, ...details].join('\n');
}

/** The human text of a successful answer, or why the answer does not look like one (another version's node). */
export function formatAnswer(command: CliCommand, body: unknown): { ok: true; text: string } | { ok: false; problem: string } {
  const parse = <T>(schema: ZodType<T, ZodTypeDef, unknown>, format: (x: T) => string) => {
    const r = schema.safeParse(body);
    if (r.success) return { ok: true as const, text: format(r.data) };
    const issue = r.error.issues[0];
    return { ok: false as const, problem: issue === undefined ? 'unexpected answer' : `unexpected answer at '${issue.path.join('.')}': ${issue.message}` };
  };
  switch (command.name) {
    case 'status':
      return parse(clusterStatusSchema, formatStatus);
    case 'partitions list':
      return parse(partitionListSchema, (l) => formatPartitions(l, command.node));
    case 'partitions move':
      return parse(moveResultSchema, formatMove);
    case 'drain':
    case 'undrain':
      return parse(bulkMoveResultSchema, (r) => formatBulkMove(command.name === 'drain' ? 'drained' : 'undrained', { ...r, nodeId: r.nodeId ?? command.node }));
    case 'rebalance':
      return parse(bulkMoveResultSchema, (r) => formatBulkMove('rebalanced', r));
    case 'isolate':
      return parse(isolateResultSchema, formatIsolate);
  }
}
