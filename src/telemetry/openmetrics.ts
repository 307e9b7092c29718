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

/** Whether an Accept header asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/openmetrics-text');
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
