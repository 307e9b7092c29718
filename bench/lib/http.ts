import { benchLimits } from './bench-limits.js';

/**
 * The harness's own HTTP calls (setup, polls, checks, /metrics) — never the measured load, which comes from the load
 * worker. Each call is bounded by a timeout; the body is parsed as JSON when it is JSON.
 */
export interface JsonResponse {
  status: number;
  body: any;
  text: string;
}

export async function requestJson(
  method: string,
  url: string,
  opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(opts.timeoutMs ?? benchLimits.httpCallMsMax),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (/metrics is Prometheus text): keep the raw text.
  }
  return { status: res.status, body, text };
}

export interface InventoryCounts {
  sku: string;
  onHand: number;
  available: number;
  held: number;
  sold: number;
}

export async function getInventory(baseUrl: string, sku: string): Promise<InventoryCounts> {
  const r = await requestJson('GET', `${baseUrl}/api/inventory/${encodeURIComponent(sku)}`);
  if (r.status !== 200) throw new Error(`GET /api/inventory/${sku}: ${r.status} ${r.text.slice(0, 200)}`);
  return r.body as InventoryCounts;
}
