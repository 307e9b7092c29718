import type { Logger } from 'pino';

/**
 * Runs `pass` again and again, one at a time: each pass returns how long to wait before the next (a pass that
 * throws is logged and retried after `failureDelayMs(n)` for its n-th failure in a row). `nudge()` starts the next
 * pass at once when none is running (or right after the running one). `stop()` waits for a running pass.
 */
export class PassLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly name: string,
    private readonly pass: () => Promise<number>,
    private readonly failureDelayMs: (failures: number) => number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.schedule(0);
  }

  nudge(): void {
    if (this.stopped) return;
    if (this.running !== null) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runOnce().finally(() => (this.running = null));
    }, delayMs);
    this.timer.unref?.();
  }

  private async runOnce(): Promise<void> {
    let delayMs: number;
    try {
      delayMs = await this.pass();
      this.failures = 0;
    } catch (err) {
      this.failures++;
      delayMs = this.failureDelayMs(this.failures);
      if (this.failures === 1 || this.failures % 20 === 0) this.log.warn({ err, failures: this.failures }, `${this.name} failed; retrying`);
    }
    if (this.again) {
      this.again = false;
      delayMs = 0;
    }
    // The next pass is scheduled after this one's promise settles (running is cleared in finally, before the timer).
    queueMicrotask(() => this.schedule(delayMs));
  }
}
