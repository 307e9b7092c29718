import type { Logger } from 'pino';
import { coordinatorLimits } from '../config/limits.js';
import { servedReply } from './peer-schemas.js';
import type { Route } from './routing-table.js';

export interface HeldPartitionsDeps {
  rpc: (node: string, msg: unknown, timeoutMs: number) => Promise<unknown>;
  now: () => number;
  log: Logger;
  /** The owner of record has not held the partition for the grace: it needs an acquire. */
  onUnheld: (partition: number) => void;
  /** The owner of record holds the partition (an acquire that timed out on the coordinator's side did finish). */
  onHeld: (partition: number) => void;
}

/**
 * Do the owners of record hold their partitions? The coordinator compares the assignment with PostgreSQL's owner
 * rows; this asks the owners themselves. Whatever left a partition without a server while PostgreSQL still names its
 * owner (a release that outlived its RPC's timeout, an acquire that failed after a retry found it in motion, a
 * coordinator change that forgot a failed acquire), the owner's answer finds it. An observation is kept per owner
 * and epoch, so a new owner or a new claim starts its grace afresh. A round runs beside the reconciles, never in
 * them: a node that does not answer delays nothing (a failover above all).
 */
export class HeldPartitions {
  private readonly unheldSince = new Map<number, { node: string; epoch: number; sinceMs: number }>();
  private asking: Promise<void> | null = null;

  constructor(private readonly deps: HeldPartitionsDeps) {}

  /** Starts a round of questions unless one is still running; never waits for the answers. */
  ask(live: readonly string[], owners: ReadonlyMap<number, Route>): void {
    if (this.asking !== null) return;
    const byNode = new Map<string, Route[]>();
    for (const r of owners.values()) if (live.includes(r.nodeId)) byNode.set(r.nodeId, [...(byNode.get(r.nodeId) ?? []), r]);
    for (const [p, seen] of this.unheldSince) if (owners.get(p)?.nodeId !== seen.node || owners.get(p)?.epoch !== seen.epoch) this.unheldSince.delete(p);
    this.asking = Promise.all([...byNode].map(([node, routes]) => this.askOne(node, routes))).then(
      () => void (this.asking = null),
      () => void (this.asking = null),
    );
  }

  /** Forgets every observation (the coordinator's lease changed hands). */
  reset(): void {
    this.unheldSince.clear();
  }

  /** Resolves when the round in flight, if any, ends. */
  async idle(): Promise<void> {
    await this.asking;
  }

  private async askOne(node: string, routes: Route[]): Promise<void> {
    let held: Set<number>;
    try {
      const reply = servedReply.safeParse(await this.deps.rpc(node, { t: 'served' }, coordinatorLimits.servedRpcTimeoutMs));
      if (!reply.success) return; // a node without the message (a rolling upgrade), or a bad answer: not judged
      held = new Set(reply.data.partitions);
    } catch {
      return; // unreachable now: failure detection decides about the node, not this question
    }
    const now = this.deps.now();
    for (const { partition: p, epoch } of routes) {
      if (held.has(p)) {
        this.unheldSince.delete(p);
        this.deps.onHeld(p);
        continue;
      }
      const seen = this.unheldSince.get(p);
      if (seen === undefined || seen.node !== node || seen.epoch !== epoch) this.unheldSince.set(p, { node, epoch, sinceMs: now });
      else if (now - seen.sinceMs >= coordinatorLimits.unservedGraceMs) {
        this.unheldSince.delete(p);
        this.deps.log.warn({ node, partition: p, epoch }, 'the owner of record does not hold the partition; it is acquired again');
        this.deps.onUnheld(p);
      }
    }
  }
}
