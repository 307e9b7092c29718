import client from 'prom-client';

/**
 * /metrics in two formats from one registry (docs/observability.md): the classic Prometheus text by default, and
 * OpenMetrics, which carries the latency histograms' exemplars (trace ids), when the scraper's Accept header asks for
 * `application/openmetrics-text` (Prometheus does when it scrapes exemplars). A prom-client registry renders one
 * format; rendering OpenMetrics through a second, empty registry with families read from the first (counters named
 * without `_total`, as OpenMetrics wants) leaves the metrics themselves untouched, so a classic scrape running at the
 * same time is unaffected (prom-client's own OpenMetrics path renames the counters in place).
 */
export const openMetricsContentType = client.Registry.OPENMETRICS_CONTENT_TYPE;

/**
 * Whether an Accept header asks for OpenMetrics: it names `application/openmetrics-text` (any case, any version) with a
 * quality above 0 and not below the classic format's (`text/plain`, `text/*` or `*\/*`). Malformed parts are skipped;
 * raises no error.
 */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let open = 0;
  let plain = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => /^q\s*=/.test(p));
    const q = qParam === undefined ? 1 : Number(qParam.slice(qParam.indexOf('=') + 1).trim());
    if (!Number.isFinite(q) || q < 0 || q > 1) continue;
    if (type === 'application/openmetrics-text') open = Math.max(open, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') plain = Math.max(plain, q);
  }
  return open > 0 && open >= plain;
}

interface Family {
  name: string;
  type: string;
}

type Readable = { get(): Promise<Family>; getForPromString?: () => Promise<Family> };

/** The registry's metrics as OpenMetrics text, exemplars included, ending with `# EOF`. */
export async function openMetricsText(registry: client.Registry): Promise<string> {
  // The typings omit the constructor's content type and getMetricsAsString (both in prom-client's registry.js).
  const OpenRegistry = client.Registry as unknown as new (contentType: string) => { getMetricsAsString(m: Readable): Promise<string> };
  const renderer = new OpenRegistry(openMetricsContentType);
  const metrics = registry.getMetricsAsArray() as unknown as Readable[];
  const parts = await Promise.all(metrics.map((m) => renderer.getMetricsAsString(familyOf(m))));
  return `${parts.join('\n')}\n# EOF\n`;
}

function familyOf(metric: Readable): Readable {
  const read = async (): Promise<Family> => {
    const family = metric.getForPromString ? await metric.getForPromString() : await metric.get();
    return family.type === 'counter' ? { ...family, name: family.name.replace(/_total$/, '') } : family;
  };
  return { get: read, getForPromString: read };
}
