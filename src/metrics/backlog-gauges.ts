import client from 'prom-client';
import { metricLimits } from '../config/limits.js';
import { backlogParts, type BacklogCounts, type BacklogPart } from '../persistence/metric-queries.js';

/** Where the backlog comes from: `exports()` says whether this node reports it (the chore runner), `read` reads a part. */
export interface BacklogSource {
  exports(): boolean;
  read(part: BacklogPart, timeoutMs: number): Promise<Partial<BacklogCounts>>;
  /** A read failed or timed out (the scrape keeps that part's last values; the age gauge grows). */
  onError?(err: unknown, part: BacklogPart): void;
}

/** Name, help, the part it is read by, and its value. */
const backlogGauges: readonly (readonly [string, string, BacklogPart, keyof BacklogCounts])[] = [
  ['boxoffice_orders_pending', 'Orders pending (payment outcome unknown or waiting for the customer); reported by the coordinator only.', 'orders', 'ordersPending'],
  ['boxoffice_order_pending_oldest_age_seconds', 'Age of the oldest pending order; reported by the coordinator only.', 'orders', 'orderPendingOldestAgeS'],
  ['boxoffice_authorizations_outstanding', 'Payments authorized and neither captured nor voided; reported by the coordinator only.', 'authorizations', 'authorizationsOutstanding'],
  ['boxoffice_authorization_oldest_age_seconds', 'Age of the oldest outstanding authorization; reported by the coordinator only.', 'authorizations', 'authorizationOldestAgeS'],
  ['boxoffice_webhook_lag_seconds', 'Age of the oldest outgoing webhook delivery not yet delivered (parked ones excluded); reported by the coordinator only.', 'webhooks', 'webhookLagS'],
];

/** One part's last values (null: none read in this term) and reads. */
interface PartState {
  values: Partial<BacklogCounts> | null;
  okMs: number | null;
  attemptMs: number;
  reading: Promise<void> | null;
}

/**
 * The gauges read from PostgreSQL, which every node of a cluster shares: only the node running the node-wide chores
 * (alone: this node; in a cluster: the coordinator) reports them; every other node exports no series at all (not 0:
 * a node saying 0 would resolve alerts during a coordinator handover), so a sum (or a max) across nodes is right.
 * Each part (orders, authorizations, webhooks) is read on its own at most every `cacheMs`; a scrape meanwhile gets
 * the cached values, and a read that fails or times out keeps that part's last ones (logged by the caller through
 * `onError`) while boxoffice_backlog_gauges_age_seconds grows. A node that starts or stops reporting drops what it
 * read before: a node becoming coordinator again reports nothing from its last term.
 */
export class BacklogGauges {
  private source: BacklogSource | null = null;
  private parts = new Map<BacklogPart, PartState>();
  private exporting = false;
  /** Bumped when the node starts or stops reporting: a read of an earlier term is discarded. */
  private term = 0;
  private termStartMs = 0;

  constructor(
    registry: client.Registry,
    private readonly o: { nowMs?: () => number; cacheMs?: number; timeoutMs?: number } = {},
  ) {
    const self = this;
    for (const [name, help, part, key] of backlogGauges) {
      new client.Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          const value = (await self.current()) ? self.parts.get(part)?.values?.[key] : undefined;
          if (value === undefined) drop(this);
          else this.set(value);
        },
      });
    }
    new client.Gauge({
      name: 'boxoffice_backlog_gauges_age_seconds',
      help: 'Seconds since the stalest part of the backlog gauges was last read successfully (since reporting began if never); reported by the coordinator only.',
      registers: [registry],
      async collect() {
        if (await self.current()) this.set(self.ageS());
        else drop(this);
      },
    });
  }

  setSource(source: BacklogSource): void {
    this.source = source;
  }

  private now(): number {
    return (this.o.nowMs ?? Date.now)();
  }

  /** Whether this node reports now; starts the reads that are due and waits for those in flight. */
  private async current(): Promise<boolean> {
    const source = this.source;
    const exporting = source !== null && source.exports();
    const now = this.now();
    if (exporting !== this.exporting) {
      this.exporting = exporting;
      this.term++;
      this.termStartMs = now;
      this.parts = new Map();
    }
    if (!exporting || source === null) return false;
    const cacheMs = this.o.cacheMs ?? metricLimits.databaseGaugeCacheMs;
    const inFlight: Promise<void>[] = [];
    for (const part of backlogParts) {
      let p = this.parts.get(part);
      if (p === undefined) this.parts.set(part, (p = { values: null, okMs: null, attemptMs: -Infinity, reading: null }));
      if (p.reading === null && now - p.attemptMs >= cacheMs) {
        p.attemptMs = now;
        const state = p;
        state.reading = this.read(source, part, state).finally(() => (state.reading = null));
      }
      if (p.reading) inFlight.push(p.reading);
    }
    await Promise.all(inFlight);
    return this.exporting;
  }

  private ageS(): number {
    let oldestOkMs = Infinity;
    for (const part of backlogParts) oldestOkMs = Math.min(oldestOkMs, this.parts.get(part)?.okMs ?? this.termStartMs);
    return Math.max(0, (this.now() - oldestOkMs) / 1000);
  }

  private async read(source: BacklogSource, part: BacklogPart, state: PartState): Promise<void> {
    const term = this.term;
    const timeoutMs = this.o.timeoutMs ?? metricLimits.databaseGaugeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`backlog gauges (${part}) not read within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const values = await Promise.race([source.read(part, timeoutMs), deadline]);
      if (term !== this.term) return;
      state.values = values;
      state.okMs = this.now();
    } catch (err) {
      if (term === this.term) source.onError?.(err, part);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** No series for this gauge (prom-client's reset leaves an unlabelled gauge at 0; remove() takes the series out). */
function drop(g: client.Gauge): void {
  g.reset();
  g.remove();
}
