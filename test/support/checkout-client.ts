import { testAddress } from './node-harness.js';

/** What a checkout request got back. */
export interface CheckoutAnswer {
  key: string;
  status: number;
  body: any;
  replayed: boolean;
  /** The Retry-After header, when there is one. */
  retryAfter: string | null;
}

export function buyNowBody(items: { sku: string; qty: number }[], paymentMethod: string): unknown {
  return { items, paymentMethod, address: testAddress };
}

/** POST /api/checkout with an Idempotency-Key; network errors reject (the caller decides what they mean). */
export async function postCheckout(base: string, key: string, body: unknown, signal?: AbortSignal): Promise<CheckoutAnswer> {
  const res = await fetch(`${base}/api/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Left as text: the assertion that reads it will show it.
  }
  return { key, status: res.status, body: parsed, replayed: res.headers.get('idempotent-replayed') === 'true', retryAfter: res.headers.get('retry-after') };
}

/**
 * Runs `jobs` with at most `concurrency` in flight, in the order given (a seeded shuffle makes the order a replayable
 * interleaving). Resolves when every job settled; a rejected job's error is collected, not thrown.
 */
export async function runPool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<{ results: T[]; errors: unknown[] }> {
  const results: T[] = [];
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      try {
        results.push(await job());
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return { results, errors };
}

/** Polls `probe` until it returns a value (not undefined) or `deadlineMs` passes; each poll waits for a real answer. */
export async function pollUntil<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>, intervalMs = 50): Promise<T> {
  const until = Date.now() + deadlineMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    // A pause between polls of a real signal, not a stand-in for synchronisation.
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
