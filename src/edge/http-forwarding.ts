import type { Logger } from 'pino';
import { z } from 'zod';
import type { ClusterLink, PeerMessage } from '../cluster/cluster-link.js';
import { context } from '@opentelemetry/api';
import { clusterLimits, telemetryLimits, traceparentPattern } from '../config/limits.js';
import { errorResponse } from '../http/error-response.js';
import { markPlacementAnswer, type HttpRequest, type HttpResponse } from '../http/request.js';
import type { Router } from '../http/router.js';
import { correlationIdHeader, correlationIdOf, runTraced } from '../http/http-spans.js';
import { tracingOff, type Tracing } from '../telemetry/tracing.js';
import { place } from './placement.js';

/** Names the hops a forwarded request has taken (set by the receiving node, read by placement). */
export const hopsHeader = 'x-boxoffice-hops';

/** An HTTP request forwarded whole to the owner of its entity; the owner runs it through its own router. */
/** A forwarded request's envelope as checked before it is served (its body is the route's to validate). */
export const httpPeerMessage = z.object({
  t: z.literal('http'),
  m: z.string().min(1).max(16),
  p: z.string().min(1).max(8_192),
  q: z.string().max(8_192),
  h: z.record(z.string().max(8_192)),
  b: z.unknown(),
  /**
   * The forwarding node's span (W3C traceparent): the owner's spans continue its trace. A malformed or oversize one is
   * dropped (a new trace), never a reason to refuse the request: optional tracing must not fail a checkout, e.g. in a
   * rolling upgrade between versions that write it differently.
   */
  tp: z.string().max(telemetryLimits.traceparentLengthMax).regex(traceparentPattern).optional().catch(undefined),
});

interface HttpPeerMessage extends PeerMessage {
  t: 'http';
  m: string;
  p: string;
  q: string;
  h: Record<string, string>;
  b: unknown;
  tp?: string;
}

/** The owner's answer to a forwarded request. */
interface HttpPeerReply {
  s: number;
  b?: unknown;
  h?: Record<string, string>;
}

/**
 * Where a request for `entity` runs: null serves it here (decided synchronously when this node serves the entity's
 * partition); otherwise the owner's response (forwarded), or null once a move brought it here.
 */
export type HttpPlacement = (entity: string, req: HttpRequest) => Promise<HttpResponse | null> | null;

/**
 * HTTP requests about an entity served by another node are forwarded whole to its owner over the cluster link and
 * the answer relayed (DESIGN.md, "Nodes talk to each other"); the owner checks its ownership again and serves them
 * through its router. On a node alone (no link) every request is served here.
 */
export class HttpForwarding {
  private router: Router | null = null;

  constructor(
    private readonly link: ClusterLink | null,
    private readonly log: Logger,
    private readonly tracing: Tracing = tracingOff,
  ) {
    link?.onPeerMessage<HttpPeerMessage>('http', httpPeerMessage, (msg, from) => this.serveForwarded(msg, from));
  }

  /** The router forwarded requests run through (built after the services that use `placement`). */
  serve(router: Router): void {
    this.router = router;
  }

  readonly placement: HttpPlacement = (entity, req) => {
    const link = this.link;
    if (link === null) return null;
    const hops = Number(req.headers[hopsHeader] ?? '0') || 0;
    const placed = place(link, entity, { hops, send: (node, hop) => forward(link, node, req, hop, this.tracing.traceparent(context.active())) });
    if (placed === null) return null;
    return placed.then((r) => {
      if (r.t === 'here') return null;
      if (r.t === 'owner') return r.reply;
      // Answers made here, not by the owner: marked so the entry node counts them (the owner never saw the request).
      if (r.t === 'overloaded') return markPlacementAnswer(errorResponse('OVERLOADED', { partition: r.partition, owner: r.owner, retryAfterS: 1 }, { 'retry-after': '1' }));
      const details = { partition: r.partition, reason: r.reason, ...(r.owner !== undefined ? { owner: r.owner } : {}) };
      return markPlacementAnswer(errorResponse('PARTITION_UNAVAILABLE', details, { 'retry-after': '1' }));
    });
  };

  private async serveForwarded(msg: HttpPeerMessage, from: string): Promise<HttpPeerReply> {
    const match = this.router?.match(msg.m, msg.p);
    if (match === undefined || !('handler' in match)) return { s: 404, b: errorResponse('ROUTE_NOT_FOUND').body };
    const req: HttpRequest = { method: msg.m, path: msg.p, params: match.params, query: new URLSearchParams(msg.q), headers: msg.h, body: msg.b, rawBodyBytes: 0, remoteAddress: `peer:${from}`, correlationId: correlationIdOf(msg.h) };
    let res: HttpResponse;
    try {
      res = await (this.tracing.enabled ? runTraced(this.tracing, match.handler, req, match.pattern, { traceparent: msg.tp, tracestate: undefined, trusted: true, forwardedFrom: from }) : match.handler(req));
    } catch (err) {
      this.log.error({ err, path: msg.p }, 'forwarded request failed');
      res = errorResponse('INTERNAL');
    }
    return { s: res.status, ...(res.body !== undefined ? { b: res.body } : {}), ...(res.headers ? { h: res.headers } : {}) };
  }
}

/** Headers that describe one connection, not the request: the owner's server sets its own. */
const hopByHopHeaders = new Set(['content-length', 'transfer-encoding', 'connection', 'host']);

async function forward(link: ClusterLink, node: string, req: HttpRequest, hops: number, traceparent: string | undefined): Promise<HttpResponse> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (!hopByHopHeaders.has(k)) h[k] = v;
  h[hopsHeader] = String(hops);
  // The owner logs under the id this node answers with (checked or generated here).
  if (req.correlationId !== undefined) h[correlationIdHeader] = req.correlationId;
  const msg: HttpPeerMessage = { t: 'http', m: req.method, p: req.path, q: req.query.toString(), h, b: req.body };
  if (traceparent !== undefined) msg.tp = traceparent;
  const r = (await link.request(node, msg, clusterLimits.forwardTimeoutMs)) as HttpPeerReply;
  const res: HttpResponse = { status: r.s };
  if (r.b !== undefined) res.body = r.b;
  if (r.h !== undefined) res.headers = r.h;
  return res;
}
