import type { Clock } from '../clock.js';
import { actorLimits } from '../config/limits.js';
import type { Logger } from 'pino';
import { checkoutPartition, skuPartition } from '../domain/entities.js';
import { scanIdempotencyKeys } from '../persistence/idempotency-key-scan.js';
import { claimPartitions, loadPartitions, type GroupCommitJournal, type PartitionClaim } from '../persistence/journal.js';
import type { SqlClient } from '../persistence/sql.js';
import type { KeyFilter } from './bloom-filter.js';
import type { CheckoutActor, StoredResponse } from './checkout-actor.js';
import type { InventoryRegistry } from './inventory-registry.js';
import type { AcquireReason } from '../metrics/business-counters.js';
import { replayJournal } from './recovery.js';

/**
 * The partitions this node serves (DESIGN.md, "Ownership, moves and failover"). A partition is served only after
 * it was claimed in PostgreSQL (epoch bump, which fences every earlier owner) and its snapshots and journal tail
 * were loaded; from then on its SKU actors, its checkout actor and its journal writes live here, until it is
 * released (a move: wait for its checkouts, flush, stop), or dropped (fenced, or a newer owner was announced).
 *
 * While a partition is acquired or released it is "in motion": `motion(p)` is a promise the request path waits on
 * (bounded) before it decides between serving here and forwarding, so a partition is never served by two owners
 * and a request in the gap waits instead of failing.
 */
export interface PartitionHostDeps {
  sql: SqlClient;
  /** IDEMPOTENCY_RETENTION_MS: keys stored within it are read into the known keys at start. */
  keyRetentionMs: number;
  nodeId: string;
  partitions: number;
  journal: GroupCommitJournal;
  /** The epoch of every partition whose journal this node writes (read by the snapshot writer). */
  epochs: Map<number, number>;
  inventory: InventoryRegistry;
  newCheckoutActor: (partition: number) => CheckoutActor;
  knownKeys: KeyFilter;
  lookupKey: (key: string) => Promise<StoredResponse | null>;
  /** Counts a promotion use again without a limit check (a resumed checkout took it before the restart). */
  forceReservePromo: (code: string, customerKey: string) => void;
  /** Writes the snapshots waiting in memory (before a partition leaves). */
  flushSnapshots: () => Promise<void>;
  /** Drives a release's wait for its checkouts. */
  clock: Clock;
  /** A partition arrived (carts cached under an earlier owner may be stale). */
  onAcquired?: (partitions: number[], reason: AcquireReason) => void;
  log: Logger;
}

export class MoveError extends Error {
  constructor(message: string, readonly partitions: number[]) {
    super(message);
    this.name = 'MoveError';
  }
}

export class PartitionHost {
  private readonly served = new Map<number, number>();
  private readonly checkouts: (CheckoutActor | undefined)[];
  private readonly moving: Gate = new Map();
  /** Partitions whose release waits for their checkouts: new checkouts wait, everything else is still served. */
  private readonly draining: Gate = new Map();
  /** The database time of the last idempotency-key scan; keys created since go into the Bloom filter on acquire. */
  private keysScannedAt: string | null = null;

  constructor(private readonly deps: PartitionHostDeps) {
    this.checkouts = new Array<CheckoutActor | undefined>(deps.partitions);
  }

  /** Served here now (claimed, loaded, not in motion). */
  owns(partition: number): boolean {
    return this.served.has(partition) && !this.moving.has(partition);
  }

  ownsSku(sku: string): boolean {
    return this.owns(skuPartition(sku, this.deps.partitions));
  }

  /** The epoch this node serves `partition` at, or undefined. */
  epochOf(partition: number): number | undefined {
    return this.served.get(partition);
  }

  /** Served here and taking new checkouts (not draining for a release). */
  servesCheckouts(partition: number): boolean {
    return this.owns(partition) && !this.draining.has(partition);
  }

  /**
   * Resolves when the partition's acquire or release ends; undefined when it is not in motion. For new checkouts
   * (`checkouts`), a partition draining for a release is in motion too.
   */
  motion(partition: number, checkouts = false): Promise<void> | undefined {
    return this.moving.get(partition)?.done ?? (checkouts ? this.draining.get(partition)?.done : undefined);
  }

  servedPartitions(): number[] {
    return [...this.served.keys()].sort((a, b) => a - b);
  }

  /** Served here or being acquired or released here: what the coordinator must not take for unserved. */
  heldPartitions(): number[] {
    return [...new Set([...this.served.keys(), ...this.moving.keys()])].sort((a, b) => a - b);
  }

  checkoutActor(partition: number): CheckoutActor | undefined {
    return this.owns(partition) ? this.checkouts[partition] : undefined;
  }

  /**
   * Whether a checkout of `key` runs here (its partition is served here): true or false; undefined when its partition
   * is not served here now (elsewhere, or moving).
   */
  checkoutRunning(key: string): boolean | undefined {
    return this.checkoutActor(checkoutPartition(key, this.deps.partitions))?.isRunning(key);
  }

  /**
   * Keys read from the database so far go into the Bloom filter (at start, before any partition is served), a
   * bounded page at a time (a sale's keys do not fit one result).
   */
  async scanKnownKeys(): Promise<number> {
    const since = this.keysScannedAt;
    const from = since === null ? { withinMs: this.deps.keyRetentionMs } : { since, overlapSeconds: actorLimits.keyScanOverlapSeconds };
    const scan = await scanIdempotencyKeys(this.deps.sql, from, actorLimits.keyScanPageRowsMax, (key) => this.deps.knownKeys.add(key));
    this.keysScannedAt = scan.scannedAt;
    return scan.keys;
  }

  /**
   * Claims `partitions` (epoch bump), loads their state and serves them. Local state left from an earlier
   * ownership is dropped first: it may be stale. Resolves with the claims (for the routing table).
   */
  async acquire(partitions: number[], reason: AcquireReason = 'start'): Promise<PartitionClaim[]> {
    const wanted = [...new Set(partitions)].filter((p) => !this.moving.has(p)).sort((a, b) => a - b);
    if (wanted.length === 0) return [];
    const startedMs = performance.now();
    this.enterMotion(wanted);
    try {
      // Local state from an earlier ownership goes first (a re-acquire stops writing at the old epoch; its pending
      // rows are fenced, and since the partition is no longer served at that epoch, that does not drop it).
      for (const p of wanted) this.forget(p);
      const claims = await claimPartitions(this.deps.sql, this.deps.nodeId, wanted);
      for (const c of claims) {
        this.deps.journal.own(c);
        this.deps.epochs.set(c.partition, c.epoch);
      }
      const rows = await loadPartitions(this.deps.sql, wanted);
      const state = replayJournal(rows.snapshots, rows.events, this.deps.log);
      for (const [sku, s] of state.skus) this.deps.inventory.restore(sku, s);
      await this.scanKnownKeys();
      for (const c of claims) {
        this.checkouts[c.partition] = this.deps.newCheckoutActor(c.partition);
        this.served.set(c.partition, c.epoch);
      }
      await this.resumeSagas(state.unfinished);
      this.deps.onAcquired?.(wanted, reason);
      this.deps.log.info({ partitions: rangeText(wanted), ms: Math.round(performance.now() - startedMs), skus: state.skus.size, events: rows.events.length, resumed: state.unfinished.length }, 'partitions acquired');
      return claims;
    } catch (err) {
      for (const p of wanted) this.forget(p);
      throw err;
    } finally {
      this.leaveMotion(wanted);
    }
  }

  /**
   * A move's first half, in two phases. Drain: new checkouts of `partitions` wait while the running ones finish
   * (at most `idleTimeoutMs`; past it the release is abandoned); SKUs, carts and promotions are still served, since
   * running checkouts (here and on other nodes) need them. Then stop: every request waits, every write is made
   * durable, and the partitions are dropped. The next owner's claim fences anything this node might still write.
   */
  async release(partitions: number[], idleTimeoutMs: number): Promise<number[]> {
    const wanted = [...new Set(partitions)].filter((p) => this.served.has(p) && !this.moving.has(p) && !this.draining.has(p)).sort((a, b) => a - b);
    if (wanted.length === 0) return [];
    enterGate(this.draining, wanted);
    try {
      const { clock } = this.deps;
      const deadlineMs = clock.now() + idleTimeoutMs;
      while (wanted.some((p) => (this.checkouts[p]?.running() ?? 0) > 0)) {
        if (clock.now() >= deadlineMs) throw new MoveError(`checkouts still running after ${idleTimeoutMs} ms`, wanted);
        await new Promise<void>((r) => clock.setTimer(clock.now() + actorLimits.releaseIdlePollMs, r));
      }
    } catch (err) {
      leaveGate(this.draining, wanted);
      throw err;
    }
    // In motion before the drain gate opens, so its waiters find the partitions moving.
    this.enterMotion(wanted);
    leaveGate(this.draining, wanted);
    try {
      // Commands already in SKU mailboxes: a command that changes nothing is answered after every earlier write.
      await Promise.all(this.deps.inventory.activeIn(new Set(wanted)).map((a) => a.ask({ t: 'expire', holdIds: [] })));
      await this.deps.journal.flush();
      await this.deps.flushSnapshots();
      for (const p of wanted) this.forget(p);
      this.deps.log.info({ partitions: rangeText(wanted) }, 'partitions released');
      return wanted;
    } finally {
      this.leaveMotion(wanted);
    }
  }

  /**
   * A write at `epoch` was fenced: another node owns the partition now, so it is dropped — but only while this node
   * serves it at that epoch (a re-acquire fences this node's own older rows, which must not drop the new claim).
   */
  fenced(partition: number, epoch: number): void {
    if (this.served.get(partition) === epoch) this.drop([partition], 'writes fenced by a newer owner');
  }

  /** Stops serving at once, without waiting: the partition was fenced or a newer owner was announced. */
  drop(partitions: number[], reason: string): void {
    const lost = partitions.filter((p) => this.served.has(p));
    if (lost.length === 0) return;
    for (const p of lost) this.forget(p);
    this.deps.log.warn({ partitions: rangeText(lost), reason }, 'partitions dropped');
  }

  /**
   * Waits (at most `timeoutMs`) until no checkout on this node is queued, running or committing the holds of an
   * answered order: a clean stop finishes what it acknowledged, so the next start has nothing to resume and answers
   * replays at once. Past the bound it gives up (raises no error: what is left resumes from the journal). New
   * checkouts must already be refused (the HTTP server closed). Returns whether everything finished.
   */
  async drainCheckouts(timeoutMs: number): Promise<boolean> {
    const { clock } = this.deps;
    const deadlineMs = clock.now() + timeoutMs;
    while (this.checkouts.some((a) => (a?.running() ?? 0) > 0)) {
      if (clock.now() >= deadlineMs) return false;
      await new Promise<void>((r) => clock.setTimer(clock.now() + actorLimits.releaseIdlePollMs, r));
    }
    return true;
  }

  /** Stops everything (node shutdown). */
  stopAll(): void {
    for (const a of this.checkouts) a?.stop();
    this.checkouts.fill(undefined);
    this.served.clear();
  }

  private forget(p: number): void {
    this.deps.journal.disown(p);
    this.deps.epochs.delete(p);
    this.served.delete(p);
    this.dropLocal([p]);
  }

  private dropLocal(partitions: number[]): void {
    for (const p of partitions) {
      this.checkouts[p]?.stop();
      this.checkouts[p] = undefined;
    }
    this.deps.inventory.dropPartitions(new Set(partitions));
  }

  private enterMotion(partitions: number[]): void {
    enterGate(this.moving, partitions);
  }

  private leaveMotion(partitions: number[]): void {
    leaveGate(this.moving, partitions);
  }

  /**
   * Unfinished sagas run again from their plan; the saga's resume path consults the stored response first, so a
   * saga whose order was written only commits its holds. A resumed saga without a stored response took its promo
   * use before the restart, which the ledger (loaded from confirmed orders) does not count yet.
   */
  private async resumeSagas(sagas: ReturnType<typeof replayJournal>['unfinished']): Promise<void> {
    const records = await Promise.all(sagas.map((s) => this.deps.lookupKey(s.plan.key)));
    sagas.forEach(({ plan, compensating, lastSeq }, i) => {
      const stored = records[i]?.statusCode != null;
      if (!stored && plan.priced.promoCode) this.deps.forceReservePromo(plan.priced.promoCode, plan.customerKey);
      this.checkouts[checkoutPartition(plan.key, this.deps.partitions)]?.resume(plan, compensating, lastSeq);
    });
  }
}

type Gate = Map<number, { done: Promise<void>; end: () => void }>;

function enterGate(gate: Gate, partitions: number[]): void {
  let end!: () => void;
  const done = new Promise<void>((r) => (end = r));
  for (const p of partitions) gate.set(p, { done, end });
}

function leaveGate(gate: Gate, partitions: number[]): void {
  const ends = new Set<() => void>();
  for (const p of partitions) {
    const g = gate.get(p);
    if (g) ends.add(g.end);
    gate.delete(p);
  }
  for (const end of ends) end();
}

/** 0-3, 7, 9-10: partition lists in logs and CLI output. */
export function rangeText(partitions: readonly number[]): string {
  const sorted = [...partitions].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
