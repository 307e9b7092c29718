/**
 * Turns many calls into one statement (DESIGN.md: "Batch every write on the hot path"). Items collect until
 * `batchMax` are waiting or `batchDelayMs` passes (0: the next turn of the event loop, so everything added in one
 * tick shares a batch). One batch runs at a time; the next accumulates meanwhile, so batches grow with load and
 * batches of one key run in the order they were added.
 */
export type Outcome<O> = { ok: true; value: O } | { ok: false; error: Error };

export interface BatcherOptions {
  batchMax: number;
  batchDelayMs: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: Error) => void;
}

export class Batcher<I, O> {
  private pending: Waiting<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  /**
   * `run` gets the items of one batch and returns one outcome per item, in order; if it throws, every item of the
   * batch rejects with that error.
   */
  constructor(
    private readonly run: (items: I[]) => Promise<Outcome<O>[]>,
    private readonly opts: BatcherOptions,
  ) {
    if (!(Number.isInteger(opts.batchMax) && opts.batchMax >= 1)) throw new Error('batchMax must be a positive integer');
    if (!(opts.batchDelayMs >= 0)) throw new Error('batchDelayMs must be >= 0');
  }

  add(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error('closed'));
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule(false);
    });
  }

  /** Resolves when nothing is waiting or running. */
  drain(): Promise<void> {
    if (!this.running && this.pending.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.schedule(true);
    });
  }

  /** Runs what is waiting, then refuses new items. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private schedule(now: boolean): void {
    if (this.running || this.pending.length === 0) return;
    if (now || this.pending.length >= this.opts.batchMax) {
      this.cancelTimer();
      void this.runBatch();
      return;
    }
    if (this.timer !== null) return;
    const fire = (): void => {
      this.timer = null;
      void this.runBatch();
    };
    this.timer = this.opts.batchDelayMs === 0 ? setImmediate(fire) : setTimeout(fire, this.opts.batchDelayMs);
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = null;
  }

  private async runBatch(): Promise<void> {
    if (this.running || this.pending.length === 0) return;
    this.running = true;
    const batch = this.pending.splice(0, this.opts.batchMax);
    try {
      const outcomes = await this.run(batch.map((w) => w.item));
      if (outcomes.length !== batch.length) throw new Error(`batch returned ${outcomes.length} outcomes for ${batch.length} items`);
      batch.forEach((w, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) w.resolve(outcome.value);
        else w.reject(outcome.error);
      });
    } catch (err) {
      for (const w of batch) w.reject(err as Error);
    } finally {
      this.running = false;
    }
    if (this.pending.length > 0) {
      this.schedule(this.idleWaiters.length > 0 || this.closed);
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Every item gets the same value. */
export function allOk<O>(count: number, value: O): Outcome<O>[] {
  return Array.from({ length: count }, () => ({ ok: true as const, value }));
}
