import type { Clock } from '../clock.js';

/**
 * A circuit breaker around a remote dependency: once failures in a row come from `failuresMax` different subjects (an
 * idempotency key, or the object a read asks for) it opens, and callers are refused at once (nothing is sent) for
 * `openMs`; then it half-opens: calls go through again, the first success closes it, and any failure opens it again
 * for another `openMs`. One subject failing again and again (a key whose stored answer is a 500, retried by every
 * sweep) counts once: it says something of that key, not of the dependency. Time comes from the injected clock.
 */
export class CircuitBreaker {
  private readonly failing = new Set<string>();
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
    this.failing.clear();
    this.openedAtMs = null;
  }

  failed(subject: string): void {
    const halfOpen = this.openedAtMs !== null;
    this.failing.add(subject);
    if (halfOpen || this.failing.size >= this.failuresMax) {
      this.openedAtMs = this.clock.now();
      this.failing.clear();
    }
  }
}
