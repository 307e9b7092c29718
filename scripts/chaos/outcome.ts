/**
 * What one answer to `POST /api/checkout` says about its key (docs/API.md): `ok` (201, the order is stored),
 * `failed` (the request certainly changed nothing, or its answer is the key's stored verdict that nothing was sold),
 * or `unknown` (anything else: 202 pending, 409 in flight, 5xx that may follow a write, timeouts, resets).
 */
export type Outcome = 'ok' | 'failed' | 'unknown';

/**
 * Codes that are the key's stored, final verdict that nothing was sold: the checkout ran to its end and compensated.
 * A retry of the key replays the same verdict, so an order for such a key contradicts the answer.
 */
export const verdictCodes: ReadonlySet<string> = new Set(['PAYMENT_DECLINED', 'OUT_OF_STOCK', 'HOLD_EXPIRED']);

/**
 * Codes refused before anything was held or charged (admission control, an open provider circuit, bad input):
 * this attempt changed nothing, but it says nothing of an earlier attempt of the same key still running.
 */
export const refusedCodes: ReadonlySet<string> = new Set([
  'OVERLOADED',
  'PAYMENT_PROVIDER_UNAVAILABLE',
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'IDEMPOTENCY_KEY_MISSING',
  'IDEMPOTENCY_KEY_INVALID',
  'IDEMPOTENCY_KEY_REUSED',
]);

export type AttemptKind = 'ok' | 'verdict' | 'refused' | 'unknown';

/** One attempt's meaning, from its HTTP status and error code; `status` null is a timeout or a reset. */
export function attemptKind(status: number | null, code: string | null): AttemptKind {
  if (status === 201) return 'ok';
  if (status === null || code === null) return 'unknown';
  if (verdictCodes.has(code)) return 'verdict';
  if (refusedCodes.has(code)) return 'refused';
  return 'unknown';
}

/** A key's outcome over all its attempts: ok if any was; failed on a verdict or when every attempt was refused. */
export function keyOutcome(kinds: readonly AttemptKind[]): Outcome {
  if (kinds.includes('ok')) return 'ok';
  if (kinds.includes('verdict')) return 'failed';
  if (kinds.length > 0 && kinds.every((k) => k === 'refused')) return 'failed';
  return 'unknown';
}

/** Whether a client should send the key again: it has no final answer yet. */
export function wantsRetry(kind: AttemptKind): boolean {
  return kind === 'unknown' || kind === 'refused';
}
