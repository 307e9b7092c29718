/**
 * The delay before retry `attempt` (1 for the first retry) of a failed webhook delivery: `baseMs` doubling per
 * attempt up to `maxMs`, with jitter ("equal jitter": between half the step and the whole of it), so endpoints that
 * failed together do not all come back at the same instant. `random` is in [0, 1).
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const step = Math.min(baseMs * 2 ** exponent, maxMs);
  return Math.round(step / 2 + (step / 2) * random);
}

/**
 * When a failed attempt is retried, or null when the delivery is parked: it has failed for `maxAgeMs` since its
 * first attempt, or its next retry would come after that.
 */
export function nextAttemptAtMs(o: { attempt: number; firstAttemptAtMs: number; nowMs: number; baseMs: number; maxMs: number; maxAgeMs: number; random: number }): number | null {
  if (o.nowMs - o.firstAttemptAtMs >= o.maxAgeMs) return null;
  const at = o.nowMs + retryDelayMs(o.attempt, o.baseMs, o.maxMs, o.random);
  return at - o.firstAttemptAtMs > o.maxAgeMs ? null : at;
}
