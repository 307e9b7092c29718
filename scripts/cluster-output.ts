/**
 * How the cluster script shows its nodes' output: every line prefixed with `[node-i]`, pino's JSON log lines made
 * readable (`INFO listening; recovering port=3000`) without dropping a field, and with --quiet only warnings, errors
 * and lines that are not log lines (a node's own stderr messages, stack traces). Pure, so it is unit-tested.
 */
const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's warn: the least a --quiet run shows. */
const quietLevelMin = 40;
/** Fields every pino line has that say nothing about the event (the prefix names the node). */
const omitted = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

/** The lines to print for one line of a node's output (none when --quiet hides it). */
export function renderNodeLine(prefix: string, line: string, quiet: boolean): string[] {
  const entry = parseLogLine(line);
  if (entry === null) return [`${prefix} ${line}`];
  if (quiet && entry.level < quietLevelMin) return [];
  const fields: string[] = [];
  let stack: string[] = [];
  for (const [k, v] of Object.entries(entry.fields)) {
    if (k === 'err' && typeof v === 'object' && v !== null && typeof (v as { stack?: unknown }).stack === 'string') {
      // The stack's first line repeats the message; the rest follows the line, indented under the same prefix.
      const { stack: text, message: _message, type: _type, ...more } = v as { stack: string; message?: unknown; type?: unknown };
      const [first, ...rest] = text.split('\n');
      fields.push(`err=${JSON.stringify(first)}`, ...Object.entries(more).map(([mk, mv]) => `err.${mk}=${JSON.stringify(mv)}`));
      stack = rest;
      continue;
    }
    fields.push(`${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`);
  }
  const head = [levelNames[entry.level] ?? `L${entry.level}`, entry.msg, ...fields].filter((s) => s !== '').join(' ');
  return [`${prefix} ${head}`, ...stack.map((s) => `${prefix}   ${s.trim()}`)];
}

function parseLogLine(line: string): { level: number; msg: string; fields: Record<string, unknown> } | null {
  if (!line.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { level?: unknown }).level !== 'number') return null;
  const record = value as Record<string, unknown>;
  const fields = Object.fromEntries(Object.entries(record).filter(([k]) => !omitted.has(k)));
  return { level: record['level'] as number, msg: typeof record['msg'] === 'string' ? record['msg'] : '', fields };
}

/** `[node-1] ` padded so that the output of node-1 and node-10 lines up. */
export function nodePrefix(id: string, idWidthMax: number): string {
  return `[${id}]`.padEnd(idWidthMax + 2);
}

