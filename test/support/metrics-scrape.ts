import { parseSamples, type Sample } from '../../bench/lib/prometheus.js';

/** One scrape of a node's GET /metrics, parsed (the bench's exposition parser), with lookups by name and labels. */
export interface Scrape {
  samples: Sample[];
  /** The sample of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every sample of `name`. */
  series(name: string): Sample[];
}

export async function scrapeMetrics(base: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return parseScrape(await res.text());
}

export function parseScrape(text: string): Scrape {
  const samples = parseSamples(text);
  const matches = (s: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    samples,
    value: (name, labels = {}) => samples.find((s) => s.name === name && matches(s, labels))?.value,
    series: (name) => samples.filter((s) => s.name === name),
  };
}
