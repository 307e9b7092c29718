import { z } from 'zod';

/** What the node reads about traces (docs/observability.md), from the node's environment (the SDK's own reading is not used). */
export interface TracingSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT, default unset: nothing exported and the SDK not loaded. Set: OTLP/HTTP base URL. */
  otlpEndpoint: string | null;
  /** OTEL_SERVICE_NAME, default boxoffice: the `service.name` of every span. */
  serviceName: string;
  /**
   * OTEL_TRUST_TRACEPARENT, default false: a client's `traceparent` is only linked from the server span (a new trace,
   * sampled by our sampler). True: the server span is its child (the client's sampling decision and trace id are kept),
   * for nodes behind a gateway that sets or strips the header. Peers' `tp` field is always trusted.
   */
  trustTraceparent: boolean;
  /** OTEL_TRACES_SAMPLER, default parentbased_always_on; read from the node's environment, not the process's. */
  sampler: TracesSampler;
  /** OTEL_TRACES_SAMPLER_ARG, default 1: the ratio of the ratio samplers. */
  samplerRatio: number;
}

export type TracesSampler = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

const schema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .regex(/^https?:\/\/[^\s]{1,2000}$/, 'expected http(s)://host[:port][/path]')
    .refine((u) => URL.canParse(u) && URL.canParse(`${u.replace(/\/+$/, '')}/v1/traces`), 'expected a URL that parses (a port up to 65535, a valid host)')
    .optional(),
  OTEL_SERVICE_NAME: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'expected 1-128 printable characters').default('boxoffice'),
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
    .default('parentbased_always_on'),
  OTEL_TRUST_TRACEPARENT: z.enum(['true', 'false']).default('false'),
  OTEL_TRACES_SAMPLER_ARG: z.string().regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'expected a ratio from 0 to 1').default('1'),
});

/** Reads the OTEL_* variables (empty counts as unset); a bad value is a problem naming the variable, for ConfigError. */
export function loadTracingSettings(env: NodeJS.ProcessEnv): { ok: true; settings: TracingSettings } | { ok: false; problems: string[] } {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('OTEL_') && v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(env[String(i.path[0])])}: ${i.message}`) };
  }
  return {
    ok: true,
    settings: {
      otlpEndpoint: parsed.data.OTEL_EXPORTER_OTLP_ENDPOINT ?? null, serviceName: parsed.data.OTEL_SERVICE_NAME, trustTraceparent: parsed.data.OTEL_TRUST_TRACEPARENT === 'true',
      sampler: parsed.data.OTEL_TRACES_SAMPLER,
      samplerRatio: Number(parsed.data.OTEL_TRACES_SAMPLER_ARG),
    },
  };
}
