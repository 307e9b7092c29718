import { context, defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { telemetryLimits, traceparentPattern } from '../config/limits.js';
import type { TracesSampler, TracingSettings } from '../config/tracing-settings.js';
import { AlsContextManager } from './als-context-manager.js';
import type { Tracing } from './tracing.js';

/**
 * The OpenTelemetry SDK, loaded only when traces are exported (tracing.ts imports this module dynamically). One tracer
 * provider per node, never registered as the API's global one, so nodes sharing a process keep their own exporter and
 * shutdown. The sampler is built from the node's OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default
 * parentbased_always_on), not from the SDK's reading of process.env. Spans are exported as OTLP/HTTP JSON to `<endpoint>/v1/traces`, in batches, from a bounded
 * queue (telemetryLimits).
 */
export function sdkTracing(settings: TracingSettings): Tracing {
  // One per process, first come: it only carries the active context along async calls, for every node alike.
  context.setGlobalContextManager(new AlsContextManager());
  const exporter = new OTLPTraceExporter({ url: `${settings.otlpEndpoint!.replace(/\/+$/, '')}/v1/traces`, timeoutMillis: telemetryLimits.exportTimeoutMs });
  const provider = new BasicTracerProvider({
    sampler: samplerOf(settings.sampler, settings.samplerRatio),
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: telemetryLimits.exportQueueSpansMax,
        maxExportBatchSize: telemetryLimits.exportBatchSpansMax,
        scheduledDelayMillis: telemetryLimits.exportDelayMs,
        exportTimeoutMillis: telemetryLimits.exportTimeoutMs,
      }),
    ],
  });
  const propagator = new W3CTraceContextPropagator();
  return {
    enabled: true,
    tracer: provider.getTracer('boxoffice'),
    trustTraceparent: settings.trustTraceparent,
    extract(traceparent, tracestate): Context {
      if (traceparent === undefined || traceparent.length > telemetryLimits.traceparentLengthMax) return ROOT_CONTEXT;
      const carrier: Record<string, string> = { traceparent };
      if (tracestate !== undefined && tracestate.length <= telemetryLimits.tracestateLengthMax) carrier['tracestate'] = tracestate;
      return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    },
    traceparent(ctx) {
      const carrier: Record<string, string> = {};
      propagator.inject(ctx, carrier, defaultTextMapSetter);
      const tp = carrier['traceparent'];
      return tp !== undefined && traceparentPattern.test(tp) ? tp : undefined;
    },
    shutdown: () => provider.shutdown(),
  };
}

/** The sampler OTEL_TRACES_SAMPLER names, as the SDK's own reading of it would build it. */
function samplerOf(name: TracesSampler, ratio: number): Sampler {
  const root = (kind: string): Sampler => (kind === 'always_on' ? new AlwaysOnSampler() : kind === 'always_off' ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(ratio));
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root: root(name.slice('parentbased_'.length)) }) : root(name);
}
