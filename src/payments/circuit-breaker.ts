import type { Clock } from '../clock.js';

/**
 * A circuit breaker around a remote dependency: after `failuresMax` failures in a row it opens, and callers are
 * refused at once (nothing is sent) for `openMs`; then it half-opens: calls go through again, the first success
 * closes it, and any failure opens it again for another `openMs`. Time comes from the injected clock.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAtMs: number | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly failuresMax: number,
    private readonly openMs: number,
  ) {}

  /** Whether a call may go out now (closed, or half-open). */
  allows(): boolean {
    return this.openedAtMs === null || this.clock.now() - this.openedAtMs >= this.openMs;
  }

  /** How long until it half-opens; 0 when calls go through. */
  remainingOpenMs(): number {
    return this.openedAtMs === null ? 0 : Math.max(0, this.openedAtMs + this.openMs - this.clock.now());
  }

  succeeded(): void {
    this.failures = 0;
    this.openedAtMs = null;
  }

  failed(): void {
    this.failures++;
    if (this.failures >= this.failuresMax) this.openedAtMs = this.clock.now();
  }
}
