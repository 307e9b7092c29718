import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span, type SpanContext, type SpanOptions, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { TracingSettings } from '../config/tracing-settings.js';

/**
 * Traces (docs/observability.md). Only `@opentelemetry/api` is imported here; the SDK and the OTLP exporter are loaded
 * (dynamic import, tracing-sdk.ts) only when OTEL_EXPORTER_OTLP_ENDPOINT is set. Without it every helper below is a
 * flag test: no span, no context, no allocation. The tracer comes from a tracer provider of this node (several nodes
 * may share a test process), not from the API's global; what is global is the context manager (one per process,
 * AsyncLocalStorage), which only carries the active span along async calls.
 */
export interface Tracing {
  /** False when nothing is exported: callers skip all span work. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** OTEL_TRUST_TRACEPARENT: parent a server span on a client's `traceparent` (else only link it). */
  readonly trustTraceparent: boolean;
  /** The context a W3C `traceparent`/`tracestate` pair names; ROOT_CONTEXT when absent, oversize or malformed. */
  extract(traceparent: string | undefined, tracestate: string | undefined): Context;
  /** The `traceparent` of `ctx`'s span, to send on; undefined without a valid span. */
  traceparent(ctx: Context): string | undefined;
  /** Exports what is queued and stops (the node's close). */
  shutdown(): Promise<void>;
}

/** No export: the API's no-op tracer, never used by the helpers (they test `enabled` first). */
export const tracingOff: Tracing = {
  enabled: false,
  tracer: trace.getTracer('boxoffice'),
  trustTraceparent: false,
  extract: () => ROOT_CONTEXT,
  traceparent: () => undefined,
  shutdown: () => Promise.resolve(),
};

/** Tracing as configured: off without an endpoint, else the SDK (loaded now) exporting to it. */
export async function startTracing(settings: TracingSettings, log: Logger): Promise<Tracing> {
  if (settings.otlpEndpoint === null) return tracingOff;
  const { sdkTracing } = await import('./tracing-sdk.js');
  const tracing = sdkTracing(settings);
  // Only the origin: the URL may carry credentials (https://user:token@collector) or a token in its path or query.
  log.info({ endpoint: new URL(settings.otlpEndpoint).origin, service: settings.serviceName }, 'exporting traces over OTLP/HTTP');
  return tracing;
}

/**
 * Runs `fn` in a new span, child of the active one, that ends when `fn` settles or throws (an error marks it and is
 * rethrown).
 * `options` is a function so its attributes are only built when tracing is on.
 */
export function inSpan<T>(t: Tracing | undefined, name: string, options: (() => SpanOptions) | null, fn: () => Promise<T>): Promise<T> {
  if (t === undefined || !t.enabled) return fn();
  const span = t.tracer.startSpan(name, options?.() ?? {}, context.active());
  let pending: Promise<T>;
  try {
    pending = context.with(trace.setSpan(context.active(), span), fn);
  } catch (err) {
    // Thrown before its first await (not an async function): the span still ends, marked failed.
    endFailed(span, err);
    throw err;
  }
  return pending.then(
    (value) => {
      span.end();
      return value;
    },
    (err: unknown) => {
      endFailed(span, err);
      throw err;
    },
  );
}

/** Marks a span failed by `err` and ends it. */
export function endFailed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end();
}

/** The active context, captured to carry across a mailbox (actor dispatch does not keep it); undefined when off. */
export function captureContext(t: Tracing | undefined): Context | undefined {
  return t?.enabled ? context.active() : undefined;
}

/** Runs `fn` in a context captured earlier (or as is, when none was). */
export function runInContext<T>(ctx: unknown, fn: () => T): T {
  return ctx === undefined ? fn() : context.with(ctx as Context, fn);
}

/** The active span's context (a journal append links its batch span to it); undefined when none or tracing is off. */
export function activeSpanContext(): SpanContext | undefined {
  return trace.getSpanContext(context.active());
}

/**
 * pino `mixin`: the active span's ids on every log line (`trace_id`, `span_id`); nothing without a span. A new object
 * each time: pino merges the line's fields into it.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const sc = trace.getSpanContext(context.active());
  return sc === undefined ? {} : { trace_id: sc.traceId, span_id: sc.spanId };
}

/** The exemplar of a latency observation: the active span's trace id when it is sampled (exported), else none. */
export function traceExemplar(t: Tracing | undefined): { trace_id: string } | undefined {
  if (t === undefined || !t.enabled) return undefined;
  const sc = trace.getSpanContext(context.active());
  return sc !== undefined && (sc.traceFlags & 1) === 1 ? { trace_id: sc.traceId } : undefined;
}
