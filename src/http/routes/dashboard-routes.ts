import { z } from 'zod/v4';
import { dashboardLimits, limits } from '../../config/limits.js';
import { appJs } from '../../dashboard/app-js.js';
import { pageCss } from '../../dashboard/page-css.js';
import { pageHtml } from '../../dashboard/page-html.js';
import { errorResponse } from '../error-response.js';
import type { Handler } from '../request.js';
import type { NodeServices } from '../services.js';
import type { RouteDoc } from '../openapi/route-doc.js';

/**
 * The operator dashboard (docs/dashboard.md): a page, its script and its style, served by every node without a
 * token (they hold no data, and the page must load while the node recovers); and its data, admin only: a snapshot,
 * and the same snapshot every second as server-sent events. The page reads the stream with fetch(), which can send
 * the Authorization header (EventSource cannot), so the token never goes in a URL or a cookie.
 */

/** Headers of every dashboard answer: nothing runs but our own script, nothing frames the page, nothing is kept. */
export const dashboardSecurityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
});

const asset = (body: string, contentType: string): Handler => {
  const headers = { ...dashboardSecurityHeaders, 'content-type': contentType };
  return () => ({ status: 200, body, headers });
};

export const getPage = asset(pageHtml, 'text/html; charset=utf-8');
export const getScript = asset(appJs, 'text/javascript; charset=utf-8');
export const getStyle = asset(pageCss, 'text/css; charset=utf-8');

const assetDoc = (summary: string, contentType: string): RouteDoc => ({
  summary,
  responses: { 200: { description: summary, body: z.string(), contentType } },
  errors: [],
  whileRecovering: true,
});

export const getPageDoc = assetDoc('The operator dashboard page (no token: it asks for one)', 'text/html');
export const getScriptDoc = assetDoc("The dashboard page's script", 'text/javascript');
export const getStyleDoc = assetDoc("The dashboard page's style", 'text/css');

const num = z.number().nullable();
const part = <T extends z.ZodType>(schema: T) => z.union([schema, z.object({ error: z.string() })]);

export const dashboardSnapshotSchema = z.object({
  at: z.string().describe('When the snapshot was built: ISO 8601 instant in UTC'),
  stale: z.boolean().describe('True when older than a second: the reads of the previous build (PostgreSQL, Redis) have not settled yet, and no other starts before they do'),
  cluster: part(
    z.object({
      nodeId: z.string(),
      mode: z.enum(['single', 'cluster']),
      coordinator: z.string().nullable(),
      unowned: z.number().int(),
      nodes: z.array(z.object({ nodeId: z.string(), host: z.string(), port: z.number().int(), partitions: z.number().int(), alive: z.boolean(), draining: z.boolean(), isolated: z.array(z.number().int()) })),
      partitions: z.array(z.object({ partition: z.number().int(), nodeId: z.string(), epoch: z.number().int(), pinned: z.boolean(), isolated: z.boolean() })),
    }),
  ),
  rates: z.object({ intervalMs: z.number().int(), samples: z.array(z.object({ at: z.number(), checkouts: z.number().int(), checkoutsPerS: z.number(), salesPerS: z.number(), p99Ms: num })) }),
  metrics: z.object({
    hotSkus: z.array(z.object({ sku: z.string(), available: num, checkoutsPerS: num })).nullable(),
    holds: z.object({ active: num, pinned: num }),
    authorizations: z.object({ outstanding: num, oldestAgeS: num }),
    pendingOrders: z.object({ count: num, oldestAgeS: num }),
    lag: z.object({ outboxS: num, webhookS: num }),
    provider: z.object({
      errors: z.array(z.object({ call: z.string(), kind: z.string(), count: z.number() })).nullable(),
      latency: z.array(z.object({ call: z.string(), p99Ms: num, count: z.number() })).nullable(),
    }),
    checkoutsByOutcome: z.record(z.string(), z.number()).nullable(),
    oversoldUnits: num,
    oversoldNewUnits: num,
    partitionsServed: num,
    dropQueues: z.record(z.string(), z.number()).nullable(),
    dropAdmissions: z.record(z.string(), z.number()).nullable(),
  }),
  pendingOrders: part(z.array(z.object({ orderId: z.string(), ageS: z.number(), total: z.number().int(), currency: z.string() }))),
  expiringHolds: z.array(z.object({ sku: z.string(), holdId: z.string(), qty: z.number().int(), expiresInS: z.number() })).describe("This node's active holds that expire soonest (at most 20), soonest first"),
  drops: part(z.array(z.object({ sku: z.string(), state: z.string(), queued: z.number().int(), admitted: z.number().int(), sold: z.number().int(), remaining: z.number().int() }))),
  streams: z.number().int().describe(`Dashboard streams open on this node when the snapshot was built (at most ${dashboardLimits.streamsMax})`),
});

export const getSnapshotDoc: RouteDoc = {
  summary: "What the dashboard shows: the cluster, this node's throughput and p99, the metric panels, holds about to expire, pending orders, drops",
  admin: true,
  responses: { 200: { description: 'The snapshot (built at most once a second)', body: dashboardSnapshotSchema } },
  errors: [],
};

export const getStreamDoc: RouteDoc = {
  summary: 'The dashboard snapshot every second, as server-sent events',
  description:
    `text/event-stream: a comment at once, then \`event: snapshot\` frames (data: the JSON of GET /api/admin/dashboard) every ` +
    `${dashboardLimits.snapshotIntervalMs} ms and \`event: heartbeat\` every ${dashboardLimits.heartbeatMs} ms, until the client ` +
    `goes away, stops reading for ${limits.streamDroppedChunksMax} frames in a row, or the node closes. At most ` +
    `${dashboardLimits.streamsMax} streams per node: 429 OVERLOADED past it; 503 NOT_READY once the node is closing.`,
  admin: true,
  responses: { 200: { description: 'An endless event stream', body: z.string(), contentType: 'text/event-stream' } },
  errors: ['OVERLOADED'],
};

/** GET /api/admin/dashboard (admin) → the snapshot. */
export const getSnapshot = (s: NodeServices): Handler => async () => ({ status: 200, body: await s.dashboard.snapshot(), headers: { 'cache-control': 'no-store' } });

/** GET /api/admin/dashboard/stream (admin) → server-sent events; 429 OVERLOADED past dashboardLimits.streamsMax, 503 NOT_READY once the node closes. */
export const getStream = (s: NodeServices): Handler => () => {
  const feed = s.dashboard.feed;
  if (feed.isClosed()) return errorResponse('NOT_READY', undefined, { 'retry-after': '1' });
  if (feed.full()) return errorResponse('OVERLOADED', { streamsMax: feed.options.streamsMax, retryAfterS: 5 }, { 'retry-after': '5' });
  return { status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' }, stream: feed.start };
};
