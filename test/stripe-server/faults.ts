import assert from 'node:assert/strict';

/**
 * Scripted faults: a FIFO list; each arriving request takes the first entry whose `match` fits it, and an entry
 * stays until it was taken `times` times (default 1). Idempotent replays and refused requests take faults too:
 * the network does not know what the server would have answered.
 *
 * - status (before): answered at once with 429 (rate limit) or 500/503 (api_error); nothing executes, nothing is
 *   stored, the key stays free.
 * - drop before: the socket is destroyed before anything executes. stripe-node sees ECONNRESET.
 * - drop after: the request executes and its answer is stored under its key, then the socket is destroyed without
 *   an answer: the effect happened, the client cannot know.
 * - delay before / after: waits `ms` before executing (holding the key, so the same key meanwhile gets 409) or
 *   after executing, before answering. Past the client's timeout the outcome is unknown to it.
 * - hold before / after: like delay, but waits until the test calls `release()` on the handle; `reached` tells
 *   the test that a request is waiting there. No timer stands in for synchronisation.
 */
export type Fault =
  | { t: 'status'; status: 429 | 500 | 503; when: 'before' }
  | { t: 'drop'; when: 'before' | 'after' }
  | { t: 'delay'; ms: number; when: 'before' | 'after' }
  | { t: 'hold'; when: 'before' | 'after' };

export interface FaultMatch {
  method?: string;
  /** A string matches the path exactly (no query); a RegExp is tested against it. */
  path?: string | RegExp;
  idempotencyKey?: string | RegExp;
}

export interface FaultSpec {
  /** Omitted: any request. */
  match?: FaultMatch;
  fault: Fault;
  /** How many requests take this entry; default 1. */
  times?: number;
}

export interface FaultHandle {
  readonly fault: Fault;
  /** Requests that took this entry so far. */
  readonly taken: number;
  /** Resolves when the first request took the entry (for a hold: it is now waiting). */
  readonly reached: Promise<void>;
  /** Resolves when the entry was taken `times` times and left the script. */
  readonly consumed: Promise<void>;
  /** Lets requests held by this entry go on, now and later. */
  release(): void;
}

/** What the server needs of a taken fault. */
export interface TakenFault {
  fault: Fault;
  /** For a hold: resolves on release (or when the server closes). */
  released: Promise<void>;
}

export interface FaultTarget {
  method: string;
  path: string;
  idempotencyKey: string | null;
}

interface Entry {
  spec: FaultSpec & { times: number };
  handle: FaultHandle & { taken: number };
  onTaken(): void;
  release(): void;
  released: Promise<void>;
}

export class FaultScript {
  private entries: Entry[] = [];
  private readonly holds = new Set<Entry>();

  constructor(private readonly faultsMax: number) {}

  /** Adds an entry at the end of the script. */
  next(spec: FaultSpec): FaultHandle {
    const times = spec.times ?? 1;
    assert(Number.isInteger(times) && times >= 1, `faults.next: times must be a positive integer, got ${times}`);
    assert(this.entries.length < this.faultsMax, `faults.next: at most ${this.faultsMax} faults may wait (limits.faultsMax)`);
    if (spec.fault.t === 'delay') assert(spec.fault.ms >= 0, 'faults.next: a delay needs ms >= 0');
    if (spec.fault.t === 'status') assert([429, 500, 503].includes(spec.fault.status), 'faults.next: status is 429, 500 or 503');
    const entry = makeEntry({ ...spec, times });
    this.entries.push(entry);
    if (spec.fault.t === 'hold') this.holds.add(entry);
    return entry.handle;
  }

  /** Takes the first entry matching the request, if any. */
  take(target: FaultTarget): TakenFault | undefined {
    const i = this.entries.findIndex((e) => matches(e.spec.match, target));
    if (i < 0) return undefined;
    const entry = this.entries[i]!;
    entry.onTaken();
    if (entry.handle.taken >= entry.spec.times) this.entries.splice(i, 1);
    return { fault: entry.spec.fault, released: entry.released };
  }

  /** Entries still waiting to be taken. */
  pending(): number {
    return this.entries.length;
  }

  /** Drops every entry not yet used up and releases every held request. Returns how many entries were dropped. */
  clear(): number {
    const dropped = this.entries.length;
    this.entries = [];
    this.releaseAll();
    return dropped;
  }

  releaseAll(): void {
    for (const e of this.holds) e.release();
    this.holds.clear();
  }
}

function makeEntry(spec: FaultSpec & { times: number }): Entry {
  let reached = (): void => undefined;
  let consumed = (): void => undefined;
  let release = (): void => undefined;
  const handle = {
    fault: spec.fault,
    taken: 0,
    reached: new Promise<void>((r) => (reached = r)),
    consumed: new Promise<void>((r) => (consumed = r)),
    release: () => release(),
  };
  const released = new Promise<void>((r) => (release = r));
  return {
    spec,
    handle,
    released,
    release: () => release(),
    onTaken() {
      handle.taken += 1;
      if (handle.taken === 1) reached();
      if (handle.taken === spec.times) consumed();
    },
  };
}

function matches(match: FaultMatch | undefined, target: FaultTarget): boolean {
  if (match === undefined) return true;
  if (match.method !== undefined && match.method.toUpperCase() !== target.method) return false;
  if (match.path !== undefined && !test(match.path, target.path)) return false;
  if (match.idempotencyKey !== undefined && (target.idempotencyKey === null || !test(match.idempotencyKey, target.idempotencyKey))) return false;
  return true;
}

function test(pattern: string | RegExp, value: string): boolean {
  return typeof pattern === 'string' ? pattern === value : pattern.test(value);
}
