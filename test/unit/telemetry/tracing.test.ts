import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { httpPeerMessage } from '../../../src/edge/http-forwarding.js';
import { correlationIdOf } from '../../../src/http/http-spans.js';
import { inSpan, startTracing, tracingOff, type Tracing } from '../../../src/telemetry/tracing.js';
import { wantsOpenMetrics } from '../../../src/telemetry/openmetrics.js';
import pino from 'pino';
import { PassThrough } from 'node:stream';
import { startOtlpSink } from '../../support/otlp-sink.js';
import { ConfigError, loadConfig } from '../../../src/config/config.js';

const srcDir = join(__dirname, '..', '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('imports the OpenTelemetry SDK only from the module loaded on demand, and that module only dynamically', () => {
    const sdkImport = /from '@opentelemetry\/(?!api')[^']+'/;
    const staticSdk = sourceFiles(srcDir).filter((f) => sdkImport.test(readFileSync(f, 'utf8'))).map((f) => relative(srcDir, f));
    expect(staticSdk).toEqual(['telemetry/tracing-sdk.ts']);
    const importers = sourceFiles(srcDir).filter((f) => /tracing-sdk\.js/.test(readFileSync(f, 'utf8'))).map((f) => relative(srcDir, f));
    expect(importers).toEqual(['telemetry/tracing.ts']);
    expect(readFileSync(join(srcDir, 'telemetry', 'tracing.ts'), 'utf8')).toMatch(/await import\('\.\/tracing-sdk\.js'\)/);
  });

  it('starts no SDK and makes no span', async () => {
    const tracing = await startTracing({ otlpEndpoint: null, serviceName: 'boxoffice', trustTraceparent: false, sampler: 'parentbased_always_on', samplerRatio: 1 }, pino({ level: 'silent' }));
    expect(tracing).toBe(tracingOff);
    const seen = await inSpan(tracing, 'nothing', () => {
      throw new Error('attributes are not built when tracing is off');
    }, async () => trace.getSpan(context.active()));
    expect(seen).toBeUndefined();
  });
});

describe('tracing on', () => {
  it('logs the endpoint\'s origin only, never credentials in its URL', async () => {
    const sink = await startOtlpSink();
    const port = new URL(sink.url).port;
    let text = '';
    const out = new PassThrough();
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const settings = { otlpEndpoint: `http://user:s3cr3t-token@127.0.0.1:${port}/otlp?key=q-s3cr3t`, serviceName: 'boxoffice', trustTraceparent: false, sampler: 'always_on', samplerRatio: 1 } as const;
    const tracing = await startTracing(settings, pino({ level: 'info' }, out));
    try {
      expect(tracing.enabled).toBe(true);
      const line = text.split('\n').find((l) => l.includes('exporting traces over OTLP/HTTP'));
      expect(line, 'the start line is logged').toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ endpoint: `http://127.0.0.1:${port}` });
      expect(text).not.toContain('s3cr3t');
    } finally {
      await tracing.shutdown();
      await sink.close();
    }
  });
});

describe('inSpan', () => {
  it('ends the span, marked failed, when its function throws before returning a promise', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracing: Tracing = { ...tracingOff, enabled: true, tracer: provider.getTracer('t') };
    expect(() =>
      inSpan(tracing, 'sync-throw', null, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const ended = exporter.getFinishedSpans();
    expect(ended.map((s) => [s.name, s.status.code, s.status.message])).toEqual([['sync-throw', SpanStatusCode.ERROR, 'boom']]);
  });
});

describe('/metrics content negotiation', () => {
  it.each([
    [undefined, false],
    ['*/*', false],
    ['text/plain;version=0.0.4', false],
    ['application/openmetrics-text', true],
    ['Application/OpenMetrics-Text; version=1.0.0', true],
    // What Prometheus sends when it scrapes exemplars.
    ['application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2', true],
    ['application/openmetrics-text;q=0', false],
    ['application/openmetrics-text; q=0.0, text/plain', false],
    ['text/plain;q=1, application/openmetrics-text;q=0.5', false],
    ['application/openmetrics-text;q=bogus', false],
    ['application/x-openmetrics-text-not', false],
  ])('Accept %j asks for OpenMetrics: %s', (accept, wanted) => {
    expect(wantsOpenMetrics(accept)).toBe(wanted);
  });
});

describe('correlation ids', () => {
  it.each([
    ['abc-123', true],
    ['order:42.retry_1', true],
    ['x'.repeat(128), true],
    ['x'.repeat(129), false],
    ['', false],
    ['abc 123', false],
    ['abc\n123', false],
    ['caf\u00e9', false],
    ['a/b', false],
  ])('takes %j from the client: %s', (sent, trusted) => {
    const id = correlationIdOf({ 'x-correlation-id': sent });
    if (trusted) expect(id).toBe(sent);
    else expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('generates a fresh id when none is sent', () => {
    const a = correlationIdOf({});
    const b = correlationIdOf({});
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
  });
});

describe('the forwarded-request peer message', () => {
  const base = { t: 'http', m: 'POST', p: '/api/checkout', q: '', h: {}, b: null };

  it('accepts a message without a traceparent, or with a well-formed one', () => {
    expect(httpPeerMessage.safeParse(base).success).toBe(true);
    expect(httpPeerMessage.safeParse({ ...base, tp: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` }).success).toBe(true);
  });

  it.each([
    ['not hex', `00-${'g'.repeat(32)}-${'b'.repeat(16)}-01`],
    ['upper case', `00-${'A'.repeat(32)}-${'b'.repeat(16)}-01`],
    ['short trace id', `00-${'a'.repeat(31)}-${'b'.repeat(16)}-01`],
    ['oversize', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01${'0'.repeat(200)}`],
    ['trailing garbage', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-x`],
    ['not a string', 42],
  ])('drops a traceparent that is %s, and keeps the request', (_, tp) => {
    const parsed = httpPeerMessage.safeParse({ ...base, tp });
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual({ ...base });
    expect(parsed.data).not.toHaveProperty('tp', tp);
  });
});

describe('OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  const base = { ADMIN_TOKEN: 'tracing-config-test-token-0123' };

  // These pass a plain pattern but not URL parsing: the exporter would throw at start (exit 1 with a stack), so they
  // stop the node as configuration errors (exit 2), naming the variable.
  it.each(['http://collector:99999', 'http://%zz', 'http://[::1'])('refuses %s as configuration, naming the variable', (endpoint) => {
    expect(() => loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toThrow('OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  it('accepts a collector URL, with a path and a trailing slash', () => {
    for (const endpoint of ['http://collector:4318', 'https://otel.example.com/ingest/', 'http://127.0.0.1:4318/']) {
      expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }).tracing.otlpEndpoint).not.toBeNull();
    }
  });
});
