import type { Clock } from '../clock.js';

/**
 * Waits for `promise` or `ms`, whichever comes first, and clears its timer either way (a forgotten timer would keep
 * a closing process alive). Resolves true when the promise settled in time; never rejects. With a `clock` the
 * deadline runs on it (a simulated one in seeded runs); without, on a plain timer that keeps the process alive
 * until it fires (what the transport's closing waits want).
 */
export function settledWithin(promise: Promise<unknown>, ms: number, clock?: Clock): Promise<boolean> {
  let cancel = () => {};
  const expired = new Promise<boolean>((resolve) => {
    if (clock) {
      const timer = clock.setTimer(clock.now() + ms, () => resolve(false));
      cancel = () => timer.cancel();
    } else {
      const timer = setTimeout(() => resolve(false), ms);
      cancel = () => clearTimeout(timer);
    }
  });
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, expired]).finally(() => cancel());
}

/** Resolves at `atMs` on `clock`, always on a timer (a macrotask), so a retry loop around it never spins. */
export function sleepUntil(clock: Clock, atMs: number): Promise<void> {
  return new Promise<void>((resolve) => clock.setTimer(Math.max(atMs, clock.now()), resolve));
}
