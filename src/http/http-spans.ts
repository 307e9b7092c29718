import { randomUUID } from 'node:crypto';
import { context, ROOT_CONTEXT, SpanKind, trace, type Span } from '@opentelemetry/api';
import { correlationIdPattern } from '../config/limits.js';
import type { Handler, HttpRequest, HttpResponse } from './request.js';
import { endFailed, type Tracing } from '../telemetry/tracing.js';

// Semantic-convention names (stable HTTP attributes), spelt out: only @opentelemetry/api loads when tracing is off.
const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
const ATTR_HTTP_ROUTE = 'http.route';
const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';

/** The header that names a request's correlation id, in and out (docs/API.md). */
export const correlationIdHeader = 'x-correlation-id';

/** The client's correlation id when it is one we can trust in logs (≤ 128 of A-Z a-z 0-9 . _ : -), else a new one. */
export function correlationIdOf(headers: Record<string, string>): string {
  const sent = headers[correlationIdHeader];
  return sent !== undefined && correlationIdPattern.test(sent) ? sent : randomUUID();
}

/** Probes and scrapes: never in a server span (a trace per probe would drown the checkouts' in the exporter). */
export const untracedRoutes: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Where a traced request came from: a client (its headers), or a peer that forwarded it (its `traceparent` field). */
export interface TraceParent {
  traceparent: string | undefined;
  tracestate: string | undefined;
  /**
   * Whether the server span may be the child of `traceparent`: a peer's (authenticated) or, with
   * OTEL_TRUST_TRACEPARENT, a client's. Else the span starts a new trace, sampled by our sampler, and only links to it:
   * a client cannot force (`-01`), hide (`-00`) or pick the trace id of what we record.
   */
  trusted: boolean;
  /** The node that forwarded the request, if any. */
  forwardedFrom?: string;
}

/**
 * Runs a route's handler in an HTTP server span: child of the caller's W3C trace context when `from.trusted`, else
 * (or when there is none or it is malformed) a new trace, linked to the caller's context when it has a valid one:
 * `http.request.method`, `http.route` (the route's template), `http.response.status_code`. Called only when tracing is on.
 */
export function runTraced(t: Tracing, handler: Handler, req: HttpRequest, route: string, from: TraceParent): HttpResponse | Promise<HttpResponse> {
  const sent = t.extract(from.traceparent, from.tracestate);
  const parent = from.trusted ? sent : ROOT_CONTEXT;
  const callerSpan = from.trusted ? undefined : trace.getSpanContext(sent);
  const attributes: Record<string, string> = { [ATTR_HTTP_REQUEST_METHOD]: req.method, [ATTR_HTTP_ROUTE]: route };
  if (req.correlationId !== undefined) attributes['boxoffice.correlation_id'] = req.correlationId;
  if (from.forwardedFrom !== undefined) attributes['boxoffice.forwarded_from'] = from.forwardedFrom;
  const links = callerSpan === undefined ? undefined : [{ context: callerSpan }];
  const span = t.tracer.startSpan(`${req.method} ${route}`, { kind: SpanKind.SERVER, attributes, links }, parent);
  let result: HttpResponse | Promise<HttpResponse>;
  try {
    result = context.with(trace.setSpan(parent, span), handler, undefined, req);
  } catch (err) {
    endFailed(span, err);
    throw err;
  }
  if (!(result instanceof Promise)) return ended(span, result);
  return result.then(
    (res) => ended(span, res),
    (err: unknown) => {
      endFailed(span, err);
      throw err;
    },
  );
}

/**
 * Ends the server span and names it in the answer's `traceresponse` header (W3C Trace Context Level 2): the trace and
 * the server span a caller can look up. A copy, since a handler may return a shared response object.
 */
function ended(span: Span, res: HttpResponse): HttpResponse {
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.status);
  span.end();
  const sc = span.spanContext();
  const flags = (sc.traceFlags & 1) === 1 ? '01' : '00';
  return { ...res, headers: { ...res.headers, traceresponse: `00-${sc.traceId}-${sc.spanId}-${flags}` } };
}
