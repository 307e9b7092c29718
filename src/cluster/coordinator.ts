import type { Logger } from 'pino';
import { AdminError, type AdminOp } from '../actors/topology.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { coordinatorLimits } from '../config/limits.js';
import type { SqlClient } from '../persistence/sql.js';
import { assignPartitions } from './assignment.js';
import { CoordinatorLease } from './coordinator-lease.js';
import type { MemberInfo } from './membership.js';
import { skuPartition } from '../domain/entities.js';
import { readOwnerRoutes, type Route } from './routing-table.js';
import { HeldPartitions } from './held-partitions.js';

/**
 * The coordinator (DESIGN.md, "Ownership, moves and failover"): the one node holding the lease (a PostgreSQL
 * advisory lock) computes the assignment from the live members and the operator's overrides, and drives it:
 *
 * - failover: a partition whose owner of record is not a live member is acquired by its new node at once (the
 *   claim bumps the epoch, so a paused old owner's writes fail when it wakes up);
 * - move: the old owner releases (waits for the partition's checkouts, flushes, stops serving), then the new one
 *   acquires (claims, loads snapshot and journal tail, publishes the route). Requests in the gap wait, bounded.
 *
 * Everything the coordinator does goes through one queue, so a reconcile and an operator command never interleave.
 * Overrides live in PostgreSQL (`cluster_overrides`), so the next coordinator applies the same assignment.
 */

export interface Overrides {
  pins: Map<number, string>;
  isolations: Map<number, string>;
  drained: Set<string>;
}

export async function loadOverrides(sql: SqlClient): Promise<Overrides> {
  const rows = await sql.query<{ kind: string; partition: number; node: string }>('SELECT kind, partition, node FROM cluster_overrides ORDER BY created_at');
  const o: Overrides = { pins: new Map(), isolations: new Map(), drained: new Set() };
  for (const r of rows) {
    if (r.kind === 'pin') o.pins.set(r.partition, r.node);
    else if (r.kind === 'isolate') o.isolations.set(r.partition, r.node);
    else if (r.kind === 'drain') o.drained.add(r.node);
  }
  return o;
}

export interface CoordinatorDeps {
  sql: SqlClient;
  databaseUrl: string;
  nodeId: string;
  partitions: number;
  memberTtlMs: number;
  members: () => MemberInfo[];
  rpc: (node: string, msg: unknown, timeoutMs: number) => Promise<unknown>;
  publish: (routes: Route[]) => Promise<void>;
  log: Logger;
  /** Move pauses and backoffs are measured on it; default: the system clock. */
  clock?: Clock;
}

export interface ReconcileResult {
  moved: number;
  pauseMsMax: number;
  /** Pause of every partition moved (release start to route published), by partition. */
  pauses: Map<number, number>;
  failed: { partitions: number[]; reason: string }[];
}

export class Coordinator {
  private readonly lease: CoordinatorLease;
  private queue: Promise<unknown> = Promise.resolve();
  private kicked = false;
  private timer: TimerHandle | null = null;
  private membershipErrorAt = 0;
  private stopped = false;
  private quietReconciles = 0;
  /** Partitions whose last move step failed: not tried again before `until` (doubling backoff, capped). */
  private readonly moveBackoff = new Map<number, { until: number; delayMs: number }>();
  /**
   * Partitions whose last acquire failed: their owner of record may be the node that failed to load them (its claim
   * committed first), which serves nothing; the next reconcile sends it the acquire again instead of skipping them.
   */
  private readonly unserved = new Set<number>();
  /** Asks the owners of record what they hold: one that lost a partition puts it in `unserved`. */
  private readonly held: HeldPartitions;

  constructor(private readonly deps: CoordinatorDeps) {
    this.lease = new CoordinatorLease({
      databaseUrl: deps.databaseUrl,
      nodeId: deps.nodeId,
      onError: (err) => deps.log.debug({ err: err.message }, 'coordinator lease'),
    });
    this.held = new HeldPartitions({
      rpc: deps.rpc,
      now: () => this.now(),
      log: deps.log,
      onUnheld: (p) => this.unserved.add(p),
      onHeld: (p) => this.unserved.delete(p),
    });
  }

  start(): void {
    this.lease.on('acquired', (term) => {
      this.deps.log.info({ term }, 'this node is the coordinator');
      this.kick();
    });
    this.lease.on('lost', (reason) => {
      this.held.reset();
      this.deps.log.warn({ reason: reason.message }, 'coordinator lease lost');
    });
    this.lease.start();
    const clock = this.deps.clock ?? systemClock;
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = clock.setTimer(clock.now() + coordinatorLimits.reconcileIntervalMs, tick);
    };
    this.timer = clock.setTimer(clock.now() + coordinatorLimits.reconcileIntervalMs, tick);
  }

  isLeader(): boolean {
    return this.lease.isHeld();
  }

  /** Redis failed a membership read: the member list may be partial, so nothing fails over for one TTL. */
  noteMembershipError(): void {
    this.membershipErrorAt = this.now();
  }

  /** Schedules a reconcile (at most one waiting). */
  kick(): void {
    if (this.stopped || !this.isLeader() || this.kicked) return;
    this.kicked = true;
    this.enqueue(async () => {
      this.kicked = false;
      if (this.isLeader()) await this.reconcile();
    }).catch((err: unknown) => this.deps.log.error({ err }, 'reconcile failed'));
  }

  run(op: AdminOp): Promise<unknown> {
    return this.enqueue(() => this.apply(op));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.queue;
    await this.held.idle();
    await this.lease.release().catch(() => undefined);
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(op: AdminOp): Promise<unknown> {
    if (!this.isLeader()) throw new AdminError('COORDINATOR_UNAVAILABLE', { reason: `${this.deps.nodeId} lost the lease` });
    const { sql } = this.deps;
    const live = this.deps.members().map((m) => m.nodeId);
    switch (op.op) {
      case 'move': {
        if (!(Number.isInteger(op.partition) && op.partition >= 0 && op.partition < this.deps.partitions)) {
          throw new AdminError('PARTITION_NOT_FOUND', { partition: op.partition, partitions: this.deps.partitions });
        }
        if (!live.includes(op.to)) throw new AdminError('NODE_NOT_FOUND', { nodeId: op.to, live });
        const before = await this.ownerOf(op.partition);
        await sql.transaction(async (tx) => {
          await tx.query(`DELETE FROM cluster_overrides WHERE kind IN ('pin', 'isolate') AND partition = $1`, [op.partition]);
          await tx.query(`INSERT INTO cluster_overrides (kind, partition, node) VALUES ('pin', $1, $2)`, [op.partition, op.to]);
        });
        const r = await this.reconcileOrFail();
        const after = await this.ownerOf(op.partition);
        if (after?.nodeId !== op.to) {
          const failure = r.failed.find((f) => f.partitions.includes(op.partition));
          throw new AdminError('MOVE_FAILED', { partition: op.partition, to: op.to, reason: failure?.reason ?? `the assignment keeps it on ${after?.nodeId ?? 'no node'} (is ${op.to} isolated or drained?)` });
        }
        return { partition: op.partition, from: before?.nodeId ?? null, to: op.to, epoch: after.epoch, pauseMs: r.pauses.get(op.partition) ?? 0 };
      }
      case 'drain':
      case 'undrain': {
        const owners = await readOwnerRoutes(sql);
        if (!live.includes(op.node) && !owners.some((o) => o.nodeId === op.node)) throw new AdminError('NODE_NOT_FOUND', { nodeId: op.node, live });
        if (op.op === 'drain') await sql.query(`INSERT INTO cluster_overrides (kind, partition, node) VALUES ('drain', -1, $1) ON CONFLICT DO NOTHING`, [op.node]);
        else await sql.query(`DELETE FROM cluster_overrides WHERE kind = 'drain' AND node = $1`, [op.node]);
        const r = await this.reconcileOrFail();
        if (r.failed.length > 0) throw new AdminError('MOVE_FAILED', { nodeId: op.node, moved: r.moved, failed: r.failed });
        return { nodeId: op.node, moved: r.moved, pauseMsMax: r.pauseMsMax };
      }
      case 'rebalance': {
        await sql.query(`DELETE FROM cluster_overrides WHERE kind = 'pin'`);
        const r = await this.reconcileOrFail();
        if (r.failed.length > 0) throw new AdminError('MOVE_FAILED', { moved: r.moved, failed: r.failed });
        return { moved: r.moved, pauseMsMax: r.pauseMsMax };
      }
      case 'isolate': {
        const partition = skuPartition(op.sku, this.deps.partitions);
        const owner = await this.ownerOf(partition);
        // The SKU stays where it is (no pause for the hot SKU); everything else leaves its node.
        const node = owner !== null && live.includes(owner.nodeId) ? owner.nodeId : live[0];
        if (node === undefined) throw new AdminError('COORDINATOR_UNAVAILABLE', { reason: 'no live member' });
        await sql.transaction(async (tx) => {
          await tx.query(`DELETE FROM cluster_overrides WHERE kind IN ('pin', 'isolate') AND partition = $1`, [partition]);
          await tx.query(`INSERT INTO cluster_overrides (kind, partition, node) VALUES ('isolate', $1, $2)`, [partition, node]);
        });
        const r = await this.reconcileOrFail();
        if (r.failed.length > 0) throw new AdminError('MOVE_FAILED', { sku: op.sku, partition, moved: r.moved, failed: r.failed });
        return { sku: op.sku, partition, nodeId: node, moved: r.moved, pauseMsMax: r.pauseMsMax };
      }
    }
  }

  private async ownerOf(partition: number): Promise<{ nodeId: string; epoch: number } | null> {
    const rows = await this.deps.sql.query<{ node: string; epoch: number }>('SELECT node, epoch FROM partition_owners WHERE partition = $1', [partition]);
    return rows[0] ? { nodeId: rows[0].node, epoch: rows[0].epoch } : null;
  }

  private async reconcileOrFail(): Promise<ReconcileResult> {
    const r = await this.reconcile();
    if (r === null) throw new AdminError('COORDINATOR_UNAVAILABLE', { reason: 'the member list is uncertain (Redis errors in the last TTL); retry' });
    return r;
  }

  /**
   * Compares the assignment with PostgreSQL's ownership rows and drives the difference: failovers first (all at
   * once: those partitions have no live server), then moves, step by step. Null when the member list cannot be
   * trusted right now (this node is missing from it, or Redis failed within the last TTL).
   */
  private async reconcile(): Promise<ReconcileResult | null> {
    const { sql, nodeId } = this.deps;
    const live = this.deps.members().map((m) => m.nodeId);
    if (!live.includes(nodeId) || this.now() - this.membershipErrorAt < this.deps.memberTtlMs) return null;
    const owners = new Map((await readOwnerRoutes(sql)).map((r) => [r.partition, r]));
    this.held.ask(live, owners);
    const { failovers, moves } = this.differences(live, await loadOverrides(sql), owners);
    const result: ReconcileResult = { moved: 0, pauseMsMax: 0, pauses: new Map(), failed: [] };
    await Promise.all([...failovers.values()].map((f) => this.failOver(f.to, f.partitions, f.reason, result)));
    for (const m of moves.values()) {
      for (let i = 0; i < m.partitions.length; i += coordinatorLimits.movesPerStep) await this.moveStep(m.from, m.to, m.partitions.slice(i, i + coordinatorLimits.movesPerStep), result);
    }
    // Redis is a cache of PostgreSQL's rows: publishing them again heals routes lost while Redis was down. Every
    // acquire publishes its own routes, so a quiet cluster only needs this now and then.
    if (result.moved > 0 || result.failed.length > 0 || ++this.quietReconciles >= coordinatorLimits.republishEveryReconciles) {
      this.quietReconciles = 0;
      await this.deps.publish(result.moved > 0 ? await readOwnerRoutes(sql) : [...owners.values()]);
    }
    return result;
  }

  /**
   * Partitions whose owner is gone (failovers, by new owner), partitions nobody ever owned (`assign`: a fresh cluster's
   * bootstrap, not a failover), and partitions to move (by old and new owner).
   */
  private differences(live: string[], overrides: Overrides, owners: Map<number, Route>) {
    const undrained = live.filter((n) => !overrides.drained.has(n));
    const desired = assignPartitions(this.deps.partitions, undrained.length > 0 ? undrained : live, { pins: overrides.pins, isolations: overrides.isolations });
    const liveSet = new Set(live);
    const failovers = new Map<string, { to: string; reason: 'failover' | 'assign'; partitions: number[] }>();
    const moves = new Map<string, { from: string; to: string; partitions: number[] }>();
    for (let p = 0; p < this.deps.partitions; p++) {
      const want = desired[p]!;
      const cur = owners.get(p)?.nodeId ?? null;
      if (cur === want && !this.unserved.has(p)) continue;
      if (cur === want || cur === null || !liveSet.has(cur)) {
        const reason = cur === null ? 'assign' : 'failover';
        const key = `${reason}\u0000${want}`;
        const f = failovers.get(key) ?? { to: want, reason, partitions: [] };
        f.partitions.push(p);
        failovers.set(key, f);
      } else {
        // A partition its owner does not hold waits for no backoff: nobody serves it.
        if ((this.moveBackoff.get(p)?.until ?? 0) > this.now() && !this.unserved.has(p)) continue;
        const key = `${cur}\u0000${want}`;
        const m = moves.get(key) ?? { from: cur, to: want, partitions: [] };
        m.partitions.push(p);
        moves.set(key, m);
      }
    }
    return { failovers, moves };
  }

  /**
   * A failover: the new owner claims partitions whose owner of record is not live (the claim fences the old one); an
   * assignment: the first owner claims partitions nobody owned yet (the same claim, told apart in the metrics).
   */
  private async failOver(to: string, partitions: number[], reason: 'failover' | 'assign', result: ReconcileResult): Promise<void> {
    const startedMs = this.now();
    try {
      await this.deps.rpc(to, { t: 'acquire', partitions, reason }, coordinatorLimits.acquireRpcTimeoutMs);
      for (const p of partitions) this.unserved.delete(p);
      this.noteMoved(result, partitions, startedMs);
      this.deps.log.info({ to, partitions: partitions.length }, reason === 'assign' ? 'partitions assigned to their first owner' : 'failover: partitions taken over');
    } catch (err) {
      for (const p of partitions) this.unserved.add(p);
      result.failed.push({ partitions, reason: `acquire on ${to}: ${(err as Error).message}` });
    }
  }

  /** One step of a move: the old owner releases, then the new one acquires; a failed step backs off. */
  private async moveStep(from: string, to: string, step: number[], result: ReconcileResult): Promise<void> {
    const { log } = this.deps;
    const startedMs = this.now();
    let released = false;
    try {
      const reply = (await this.deps.rpc(from, { t: 'release', partitions: step }, coordinatorLimits.releaseRpcTimeoutMs)) as { error?: { details?: { reason?: string } } };
      if (reply.error) throw new Error(reply.error.details?.reason ?? 'release refused');
      released = true;
      await this.deps.rpc(to, { t: 'acquire', partitions: step, reason: 'move' }, coordinatorLimits.acquireRpcTimeoutMs);
      this.noteMoved(result, step, startedMs);
      for (const p of step) {
        this.moveBackoff.delete(p);
        this.unserved.delete(p);
      }
      log.info({ from, to, partitions: step.length, pauseMs: this.now() - startedMs }, 'partitions moved');
    } catch (err) {
      result.failed.push({ partitions: step, reason: `${from} → ${to}: ${(err as Error).message}` });
      for (const p of step) {
        const delayMs = Math.min(coordinatorLimits.moveBackoffMsMax, (this.moveBackoff.get(p)?.delayMs ?? coordinatorLimits.moveBackoffMsBase / 2) * 2);
        this.moveBackoff.set(p, { until: this.now() + delayMs, delayMs });
      }
      log.warn({ from, to, partitions: step.length, err: (err as Error).message }, 'move failed; it is tried again after a backoff');
      // Released but not taken: the old owner takes the partitions back, so they are not left without a server.
      if (released) {
        await this.deps.rpc(from, { t: 'acquire', partitions: step, reason: 'retry' }, coordinatorLimits.acquireRpcTimeoutMs).then(
          () => step.forEach((p) => this.unserved.delete(p)),
          (e: unknown) => {
            step.forEach((p) => this.unserved.add(p));
            log.error({ from, partitions: step.length, err: (e as Error).message }, 'taking back released partitions failed; the next reconcile acquires them again');
          },
        );
      }
    }
  }

  private noteMoved(result: ReconcileResult, partitions: number[], startedMs: number): void {
    const pause = this.now() - startedMs;
    for (const p of partitions) result.pauses.set(p, pause);
    result.moved += partitions.length;
    result.pauseMsMax = Math.max(result.pauseMsMax, pause);
  }

  private now(): number {
    return (this.deps.clock ?? systemClock).now();
  }
}
