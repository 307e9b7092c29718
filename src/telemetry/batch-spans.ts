import { SpanKind, type Link, type SpanContext } from '@opentelemetry/api';
import { telemetryLimits } from '../config/limits.js';
import { inSpan, type Tracing } from './tracing.js';

/**
 * Runs one group-commit batch in its own span, a new trace root (a batch belongs to many requests), with a link to
 * the span of each request whose appends it carries, up to telemetryLimits.batchSpanLinksMax.
 */
export function inBatchSpan<T>(t: Tracing | undefined, name: string, rows: readonly { link?: SpanContext | undefined }[], fn: () => Promise<T>): Promise<T> {
  if (t === undefined || !t.enabled) return fn();
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (links.length >= telemetryLimits.batchSpanLinksMax) break;
    if (row.link === undefined || seen.has(row.link.spanId)) continue;
    seen.add(row.link.spanId);
    links.push({ context: row.link });
  }
  const attributes = { 'db.system.name': 'postgresql', 'boxoffice.batch.rows': rows.length };
  return inSpan(t, name, () => ({ kind: SpanKind.INTERNAL, links, attributes, root: true }), fn);
}
