import { canonicalJson } from '../../src/domain/canonical-json.js';
import type { ApiResponse } from './errors.js';
import type { FormObject } from './form.js';

/**
 * Stripe's idempotency layer for v1 POSTs (https://docs.stripe.com/api/idempotent_requests):
 * - the first request with a key reserves it; its answer is saved once the endpoint began executing, whatever the
 *   status ("Retries with the same key return the saved response, including 500 errors");
 * - the same key with the same method, path and parameters (all of them, compared decoded) gets the saved status
 *   and body back, marked `Idempotent-Replayed: true` by the server;
 * - the same key with anything different: 400 idempotency_error (stripe-node: StripeIdempotencyError);
 * - the same key while its first request is still executing: 409 idempotency_error, code idempotency_key_in_use
 *   (stripe-node maps a 409 to StripeAPIError and, with retries enabled, retries it);
 * - a request refused before execution (validation, a fault before processing) releases the key unsaved, so a
 *   corrected retry with the same key is processed (Stripe: "we don't save the idempotent result because no API
 *   endpoint initiates execution. You can retry these requests").
 * Keys live in the scope of an API key. Completed entries are bounded (limits.idempotencyEntriesMax): the oldest
 * is forgotten, as Stripe prunes keys after 24 hours; a key still executing is never forgotten.
 */
export type IdempotencyDecision =
  | { kind: 'new' }
  | { kind: 'replay'; response: ApiResponse }
  | { kind: 'mismatch' }
  | { kind: 'in-flight' };

type Entry = { state: 'executing'; fingerprint: string } | { state: 'done'; fingerprint: string; response: ApiResponse };

export function requestFingerprint(method: string, path: string, params: FormObject): string {
  return `${method} ${path} ${canonicalJson(params)}`;
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private doneCount = 0;

  constructor(private readonly entriesMax: number) {}

  /** Decides what a keyed request gets; 'new' reserves the key until `complete` or `release`. */
  begin(scope: string, key: string, fingerprint: string): IdempotencyDecision {
    const id = entryId(scope, key);
    const entry = this.entries.get(id);
    if (entry === undefined) {
      this.entries.set(id, { state: 'executing', fingerprint });
      return { kind: 'new' };
    }
    if (entry.state === 'executing') return { kind: 'in-flight' };
    return entry.fingerprint === fingerprint ? { kind: 'replay', response: entry.response } : { kind: 'mismatch' };
  }

  /** Saves the answer of a request whose endpoint executed. */
  complete(scope: string, key: string, response: ApiResponse): void {
    const id = entryId(scope, key);
    const entry = this.entries.get(id);
    if (entry?.state !== 'executing') throw new Error(`idempotency: complete without begin for ${key}`);
    // Re-inserting moves the entry to the end, so eviction below goes by completion order.
    this.entries.delete(id);
    this.entries.set(id, { state: 'done', fingerprint: entry.fingerprint, response: structuredClone(response) });
    this.doneCount += 1;
    this.evict();
  }

  /** Frees a reserved key without saving anything: the endpoint never executed. */
  release(scope: string, key: string): void {
    const id = entryId(scope, key);
    if (this.entries.get(id)?.state === 'executing') this.entries.delete(id);
  }

  size(): number {
    return this.entries.size;
  }

  private evict(): void {
    if (this.doneCount <= this.entriesMax) return;
    for (const [id, entry] of this.entries) {
      if (this.doneCount <= this.entriesMax) break;
      if (entry.state !== 'done') continue;
      this.entries.delete(id);
      this.doneCount -= 1;
    }
  }
}

function entryId(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}
