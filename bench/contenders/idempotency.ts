import type { Pool, QueryConfig } from 'pg';
import { limits } from '../../src/config/limits.js';
import { errorBody } from '../../src/errors.js';
import type { KeyRecord } from './stock-backend.js';

/** What the checkout route answers: status, body, and whether it is a stored answer replayed. */
export interface Reply {
  statusCode: number;
  body: unknown;
  replayed: boolean;
}

/**
 * Idempotency keys in `idempotency_keys`, with boxoffice's rules (docs/API.md):
 * - a key is claimed with INSERT … ON CONFLICT DO NOTHING before anything is charged (status_code null = in flight);
 * - the final response is stored (in the order transaction for a 201, else by finish());
 * - refusals before anything is taken or charged (sold out at the pre-check, unknown SKU, pricing) claim nothing
 *   and are replayed from this process's memory while it remembers them, as boxoffice does from its node's memory;
 * - a request that failed charging nothing (502, 500) frees its key so the client may retry.
 */
export class IdempotencyKeys {
  /** Insertion-ordered, so the oldest refusal is forgotten first once the bound is reached. */
  private readonly refusals = new Map<string, KeyRecord>();

  constructor(private readonly pool: Pool) {}

  /** A refusal remembered in memory, if any. */
  remembered(key: string): KeyRecord | undefined {
    return this.refusals.get(key);
  }

  /** Answers a refusal that claimed nothing and remembers it for replays. */
  refuse(key: string, fingerprint: string, statusCode: number, body: unknown): Reply {
    this.refusals.delete(key);
    this.refusals.set(key, { fingerprint, statusCode, body });
    if (this.refusals.size > limits.idempotencyMemoryEntriesMax) this.refusals.delete(this.refusals.keys().next().value!);
    return { statusCode, body, replayed: false };
  }

  /** True when this request now owns the key; false when another request claimed it first. */
  async claim(key: string, fingerprint: string, checkoutId: string): Promise<boolean> {
    const r = await this.pool.query({
      name: 'key_claim',
      text: 'INSERT INTO idempotency_keys (key, fingerprint, checkout_id) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING',
      values: [key, fingerprint, checkoutId],
    });
    return r.rowCount === 1;
  }

  /** Stores the final response of a claimed key outside the order transaction (402, 409 found while taking stock). */
  async finish(key: string, statusCode: number, body: unknown): Promise<Reply> {
    await this.pool.query(finishQuery(key, statusCode, body));
    return { statusCode, body, replayed: false };
  }

  /** Frees a claimed key whose request charged and took nothing, so a retry runs again. */
  async release(key: string): Promise<void> {
    await this.pool.query({ name: 'key_release', text: 'DELETE FROM idempotency_keys WHERE key = $1 AND status_code IS NULL', values: [key] });
  }
}

/** The statement that stores a key's final response (a 201 is stored by the order statement itself). */
export function finishQuery(key: string, statusCode: number, body: unknown): QueryConfig {
  return {
    name: 'key_finish',
    text: 'UPDATE idempotency_keys SET status_code = $2, response = $3::jsonb, completed_at = now() WHERE key = $1',
    values: [key, statusCode, JSON.stringify(body)],
  };
}

/** Same key and body → the stored answer (replayed); another body → 422; still running → 409. */
export function answerFromRecord(record: KeyRecord | null, fingerprint: string): Reply {
  if (record !== null && record.fingerprint !== fingerprint) {
    return { statusCode: 422, body: errorBody('IDEMPOTENCY_KEY_REUSED'), replayed: false };
  }
  if (record === null || record.statusCode === null) {
    // null: the claim vanished between our INSERT and our read (its request freed it); retrying is right either way.
    return { statusCode: 409, body: errorBody('IDEMPOTENCY_KEY_IN_USE'), replayed: false };
  }
  return { statusCode: record.statusCode, body: record.body, replayed: true };
}
