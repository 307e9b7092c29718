import client from 'prom-client';
import { metricLimits } from '../config/limits.js';
import type { BacklogCounts } from '../persistence/metric-queries.js';

/** Where the backlog comes from: `exports()` says whether this node reports it (the chore runner), `read` reads it. */
export interface BacklogSource {
  exports(): boolean;
  read(timeoutMs: number): Promise<BacklogCounts>;
  /** A read failed or timed out (the scrape keeps the last values). */
  onError?(err: unknown): void;
}

/** Name, help and value of each gauge. */
const backlogGauges: readonly (readonly [string, string, (c: BacklogCounts) => number])[] = [
  ['boxoffice_orders_pending', 'Orders pending (payment outcome unknown or waiting for the customer); reported by the coordinator only.', (c) => c.ordersPending],
  ['boxoffice_order_pending_oldest_age_seconds', 'Age of the oldest pending order; reported by the coordinator only.', (c) => c.orderPendingOldestAgeS],
  ['boxoffice_authorizations_outstanding', 'Payments authorized and neither captured nor voided; reported by the coordinator only.', (c) => c.authorizationsOutstanding],
  ['boxoffice_authorization_oldest_age_seconds', 'Age of the oldest outstanding authorization; reported by the coordinator only.', (c) => c.authorizationOldestAgeS],
  ['boxoffice_webhook_lag_seconds', 'Age of the oldest outgoing webhook delivery not yet delivered (parked ones excluded); reported by the coordinator only.', (c) => c.webhookLagS],
];

const none: BacklogCounts = { ordersPending: 0, orderPendingOldestAgeS: 0, authorizationsOutstanding: 0, authorizationOldestAgeS: 0, webhookLagS: 0 };

/**
 * The gauges read from PostgreSQL, which every node of a cluster shares: only the node running the node-wide chores
 * (alone: this node; in a cluster: the coordinator) reports them, every other node reports 0, so a sum (or a max)
 * across nodes is right. A read happens at most every `cacheMs`; a scrape meanwhile gets the cached values, and a
 * read that fails or times out keeps the last ones (logged by the caller through `onError`).
 */
export class BacklogGauges {
  private source: BacklogSource | null = null;
  private last: BacklogCounts = none;
  private lastReadMs = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(
    registry: client.Registry,
    private readonly o: { nowMs?: () => number; cacheMs?: number; timeoutMs?: number } = {},
  ) {
    const self = this;
    for (const [name, help, pick] of backlogGauges) {
      new client.Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(pick(await self.current()));
        },
      });
    }
  }

  setSource(source: BacklogSource): void {
    this.source = source;
  }

  /** The values a scrape reports now: fresh at most every cacheMs, 0 on a node that does not export them. */
  private async current(): Promise<BacklogCounts> {
    const source = this.source;
    if (source === null || !source.exports()) return none;
    const now = (this.o.nowMs ?? Date.now)();
    if (now - this.lastReadMs >= (this.o.cacheMs ?? metricLimits.databaseGaugeCacheMs)) {
      this.lastReadMs = now;
      this.reading ??= this.read(source).finally(() => (this.reading = null));
    }
    if (this.reading) await this.reading;
    return this.last;
  }

  private async read(source: BacklogSource): Promise<void> {
    const timeoutMs = this.o.timeoutMs ?? metricLimits.databaseGaugeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`backlog gauges not read within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      this.last = await Promise.race([source.read(timeoutMs), deadline]);
    } catch (err) {
      source.onError?.(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

