import type { Clock, TimerHandle } from '../clock.js';
import { clusterLimits } from '../config/limits.js';

interface Waiter {
  epoch: number;
  resolve: (changed: boolean) => void;
}

/**
 * Requests waiting for a partition's route to change (a move or a failover in progress, or a stale route): each
 * resolves true when a route with a newer epoch arrives, false at its deadline. Bounded: past
 * `clusterLimits.routeWaitersMax` waiters a new one resolves false at once (its request answers 503 and is retried).
 */
export class RouteWaiters {
  private readonly waiters = new Map<number, Waiter[]>();
  private count = 0;
  private closed = false;

  constructor(private readonly clock: Clock) {}

  /** Waits until a route of `partition` newer than `epoch` is announced, or `deadlineMs` (clock time). */
  wait(partition: number, epoch: number, deadlineMs: number): Promise<boolean> {
    if (deadlineMs <= this.clock.now() || this.closed || this.count >= clusterLimits.routeWaitersMax) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const list = this.waiters.get(partition) ?? [];
      this.waiters.set(partition, list);
      this.count++;
      let timer: TimerHandle | null = null;
      const waiter: Waiter = {
        epoch,
        resolve: (changed) => {
          timer?.cancel();
          const i = list.indexOf(waiter);
          if (i >= 0) {
            list.splice(i, 1);
            this.count--;
          }
          if (list.length === 0 && this.waiters.get(partition) === list) this.waiters.delete(partition);
          resolve(changed);
        },
      };
      list.push(waiter);
      timer = this.clock.setTimer(deadlineMs, () => waiter.resolve(false));
    });
  }

  /** A route of `partition` at `epoch` arrived (or the partition did, with epoch Infinity): its older waiters go. */
  announce(partition: number, epoch: number): void {
    for (const w of [...(this.waiters.get(partition) ?? [])]) if (epoch > w.epoch) w.resolve(true);
  }

  close(): void {
    this.closed = true;
    for (const list of [...this.waiters.values()]) for (const w of [...list]) w.resolve(false);
    this.waiters.clear();
  }
}
