import { z } from 'zod';

/** What the node reads about traces (docs/observability.md); the SDK reads OTEL_TRACES_SAMPLER(_ARG) itself. */
export interface TracingSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT, default unset: nothing exported and the SDK not loaded. Set: OTLP/HTTP base URL. */
  otlpEndpoint: string | null;
  /** OTEL_SERVICE_NAME, default boxoffice: the `service.name` of every span. */
  serviceName: string;
}

const schema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().regex(/^https?:\/\/[^\s]{1,2000}$/, 'expected http(s)://host[:port][/path]').optional(),
  OTEL_SERVICE_NAME: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'expected 1-128 printable characters').default('boxoffice'),
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
    .optional(),
  OTEL_TRACES_SAMPLER_ARG: z.string().regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'expected a ratio from 0 to 1').optional(),
});

/** Reads the OTEL_* variables (empty counts as unset); a bad value is a problem naming the variable, for ConfigError. */
export function loadTracingSettings(env: NodeJS.ProcessEnv): { ok: true; settings: TracingSettings } | { ok: false; problems: string[] } {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('OTEL_') && v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`) };
  }
  return { ok: true, settings: { otlpEndpoint: parsed.data.OTEL_EXPORTER_OTLP_ENDPOINT ?? null, serviceName: parsed.data.OTEL_SERVICE_NAME } };
}
