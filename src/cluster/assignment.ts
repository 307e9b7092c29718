import { clusterLimits } from '../config/limits.js';
/**
 * Partition → node assignment (DESIGN.md, "Partitions"): rendezvous hashing, also called highest random weight.
 * Every (node, partition) pair gets a pseudo-random weight; a partition goes to the live node with the highest one.
 *
 * Why rendezvous rather than a ring with virtual nodes: with 1024 partitions and a handful of nodes it is a few
 * thousand hash evaluations, needs no tuning of virtual-node counts, and has the two properties we rely on exactly,
 * not just on average: adding a node only takes partitions for the new node (each one moves iff the new node's
 * weight beats the old winner, probability 1/(N+1)), and removing a node only moves that node's partitions.
 *
 * Pure and synchronous: the coordinator computes `assignPartitions` from the live members and the operator's
 * overrides, then `diffAssignments` against the current routes gives the moves to drive.
 */

/** Operator overrides, both keyed by partition. An override naming a node that is not live is ignored. */
export interface AssignmentOverrides {
  /** `partitions move <p> --to <node>`: the partition goes to that node, everything else is unchanged. */
  readonly pins?: ReadonlyMap<number, string>;
  /**
   * `isolate <sku>`: the partition goes to that node AND the node receives no other partition (its other partitions
   * are moved away), so a hot SKU gets a process of its own. Isolation wins over a pin on the same partition, and a
   * pin naming an isolated node is ignored (it would break the isolation).
   */
  readonly isolations?: ReadonlyMap<number, string>;
}

/** One partition changing hands. `from` is null for a partition that had no owner. */
export interface PartitionMove {
  readonly partition: number;
  readonly from: string | null;
  readonly to: string;
}

/**
 * The owner of every partition in [0, partitions), as an array indexed by partition. Deterministic: the same
 * members (in any order) and overrides give the same answer on every node. Throws on an empty member list (the
 * caller must not assign without a live node; keep the current routes instead).
 *
 * When every live node is isolated, the non-isolated partitions fall back to all live nodes: availability of the
 * rest of the catalog beats the isolation of one SKU.
 */
export function assignPartitions(partitions: number, members: readonly string[], overrides: AssignmentOverrides = {}): string[] {
  if (!(Number.isInteger(partitions) && partitions >= 1 && partitions <= clusterLimits.partitionsMax)) {
    throw new Error(`partitions must be an integer in [1, ${clusterLimits.partitionsMax}], got ${partitions}`);
  }
  const live = [...new Set(members)].sort();
  if (live.length === 0) throw new Error('cannot assign partitions without a live member');
  for (const m of live) if (m === '') throw new Error('a member id must not be empty');
  const liveSet = new Set(live);
  const isolations = liveOverrides(overrides.isolations, liveSet, partitions);
  const isolatedNodes = new Set(isolations.values());
  const pins = liveOverrides(overrides.pins, liveSet, partitions);
  const shared = live.filter((m) => !isolatedNodes.has(m));
  const candidates = weighted(shared.length > 0 ? shared : live);

  const owners: string[] = new Array<string>(partitions);
  for (let p = 0; p < partitions; p++) {
    const isolatedOn = isolations.get(p);
    if (isolatedOn !== undefined) {
      owners[p] = isolatedOn;
      continue;
    }
    const pinnedTo = pins.get(p);
    owners[p] = pinnedTo !== undefined && !isolatedNodes.has(pinnedTo) ? pinnedTo : highestWeight(candidates, p);
  }
  return owners;
}

/**
 * The partitions whose owner differs between two assignments of the same length, in partition order. `before` may
 * have holes (undefined or null): partitions nobody owns yet, reported with `from: null`.
 */
export function diffAssignments(before: readonly (string | null | undefined)[], after: readonly string[]): PartitionMove[] {
  if (before.length !== after.length) throw new Error(`assignments differ in length: ${before.length} vs ${after.length}`);
  const moves: PartitionMove[] = [];
  for (let p = 0; p < after.length; p++) {
    const from = before[p] ?? null;
    const to = after[p]!;
    if (from !== to) moves.push({ partition: p, from, to });
  }
  return moves;
}

/** The partitions an assignment gives to `node`, ascending. */
export function partitionsOwnedBy(assignment: readonly string[], node: string): number[] {
  const owned: number[] = [];
  for (let p = 0; p < assignment.length; p++) if (assignment[p] === node) owned.push(p);
  return owned;
}

/**
 * The rendezvous weight of (node, partition): a 32-bit value from the node's FNV-1a hash and the partition number,
 * mixed with the murmur3 finalizer twice so that the weights of different nodes for one partition are unrelated.
 * Part of the cluster's contract like `partitionOf`: changing it moves partitions on upgrade.
 */
export function rendezvousWeight(nodeHash: number, partition: number): number {
  return fmix32(fmix32(Math.imul(partition + 1, 0x9e3779b1)) ^ nodeHash);
}

/** FNV-1a over the UTF-16 code units of a node id. */
export function nodeHash(node: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < node.length; i++) {
    h ^= node.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Candidate {
  readonly node: string;
  readonly hash: number;
}

function weighted(nodes: readonly string[]): Candidate[] {
  return nodes.map((node) => ({ node, hash: nodeHash(node) }));
}

/** Ties (two 32-bit weights equal) go to the smaller node id; candidates are sorted, so that is the first seen. */
function highestWeight(candidates: readonly Candidate[], partition: number): string {
  let best = candidates[0]!;
  let bestWeight = rendezvousWeight(best.hash, partition);
  for (let i = 1; i < candidates.length; i++) {
    const c = candidates[i]!;
    const w = rendezvousWeight(c.hash, partition);
    if (w > bestWeight) {
      best = c;
      bestWeight = w;
    }
  }
  return best.node;
}

/** The overrides that name a live node and a partition in range; the others are ignored, as documented. */
function liveOverrides(map: ReadonlyMap<number, string> | undefined, live: ReadonlySet<string>, partitions: number): Map<number, string> {
  const kept = new Map<number, string>();
  if (map === undefined) return kept;
  for (const [p, node] of map) {
    if (Number.isInteger(p) && p >= 0 && p < partitions && live.has(node)) kept.set(p, node);
  }
  return kept;
}

function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
