import { actorLimits } from './config/limits.js';

/** Time is injected (STYLE.md habit 11): production uses the system clock, tests a simulated one. */
export interface Clock {
  now(): number;
  setTimer(atMs: number, fn: () => void): TimerHandle;
}

export interface TimerHandle {
  cancel(): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(atMs, fn) {
    let timer: NodeJS.Timeout;
    const arm = () => {
      const delay = Math.max(0, atMs - Date.now());
      timer = setTimeout(delay > actorLimits.timerSliceMsMax ? arm : fn, Math.min(delay, actorLimits.timerSliceMsMax));
      timer.unref();
    };
    arm();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** A clock tests move by hand: timers fire in deadline order when `advance` passes them. */
export class SimulatedClock implements Clock {
  private timers: { atMs: number; fn: () => void; live: boolean }[] = [];
  constructor(private nowMs = 1_700_000_000_000) {}
  now(): number {
    return this.nowMs;
  }
  setTimer(atMs: number, fn: () => void): TimerHandle {
    const t = { atMs, fn, live: true };
    this.timers.push(t);
    return { cancel: () => void (t.live = false) };
  }
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => t.live);
      this.timers.sort((a, b) => a.atMs - b.atMs);
      const next = this.timers[0];
      if (!next || next.atMs > target) break;
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.live = false;
      next.fn();
    }
    this.nowMs = target;
  }
}
