import type { SimulatedFault } from '../../src/payments/simulated-provider.js';
import type { Rng } from '../support/seeded-random.js';

/** Every fault the simulation injects; each run counts how often it injected each one. */
export const faultKinds = [
  'journalWriteFailed',
  'journalAmbiguousCommit',
  'orderWriteFailed',
  'orderAmbiguousCommit',
  'responseWriteFailed',
  'lookupFailed',
  'providerTimeoutAfterActing',
  'providerTimeoutUnprocessed',
  'providerError',
  'providerSlow',
  'providerDecline',
  'settleTimeout',
  'messageDelayed',
  'messageDuplicated',
  'replyLost',
  'clientDuplicate',
  'clientRetry',
  'clientReplay',
  'crash',
  'partitionMove',
] as const;
export type FaultKind = (typeof faultKinds)[number];

/** Fault rates of one run: drawn from the seed, so some runs are calm and others stormy. */
export interface FaultRates {
  journal: number;
  store: number;
  provider: number;
  network: number;
  /** Per step: a node crashes, a partition moves. */
  crash: number;
  move: number;
}

export function drawRates(rng: Rng): FaultRates {
  const level = () => [0, 0.01, 0.04, 0.1][Math.floor(rng() * 4)]!;
  return { journal: level(), store: level(), provider: level(), network: level(), crash: level() / 10, move: level() / 10 };
}

/**
 * The run's source of faults: every decision comes from the one seeded PRNG, in the order the (deterministic)
 * simulation asks, so the same seed injects the same faults at the same moments.
 */
export class SimFaults {
  readonly counts = new Map<FaultKind, number>();

  constructor(
    readonly rng: Rng,
    public rates: FaultRates,
  ) {}

  /** No more faults: the run drains (a fault rate of 0 draws nothing from the PRNG). */
  quiet(): void {
    this.rates = { journal: 0, store: 0, provider: 0, network: 0, crash: 0, move: 0 };
  }

  count(kind: FaultKind): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  /** True with probability `p`, counting `kind` when it is. */
  chance(p: number, kind?: FaultKind): boolean {
    const hit = p > 0 && this.rng() < p;
    if (hit && kind) this.count(kind);
    return hit;
  }

  /** A database round trip: zero to two turns of the event loop, so writes and reads of many actors interleave. */
  async latency(): Promise<void> {
    const turns = Math.floor(this.rng() * 3);
    for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
  }

  journalWrite(): 'fail' | 'ambiguous' | undefined {
    if (this.chance(this.rates.journal, 'journalWriteFailed')) return 'fail';
    if (this.chance(this.rates.journal, 'journalAmbiguousCommit')) return 'ambiguous';
    return undefined;
  }

  orderWrite(): 'fail' | 'ambiguous' | undefined {
    if (this.chance(this.rates.store, 'orderWriteFailed')) return 'fail';
    if (this.chance(this.rates.store, 'orderAmbiguousCommit')) return 'ambiguous';
    return undefined;
  }

  authorize(): SimulatedFault | undefined {
    if (this.chance(this.rates.provider, 'providerTimeoutAfterActing')) return 'timeout';
    if (this.chance(this.rates.provider, 'providerTimeoutUnprocessed')) return 'timeout-unprocessed';
    if (this.chance(this.rates.provider, 'providerError')) return 'error';
    return undefined;
  }

  settle(): SimulatedFault | undefined {
    return this.chance(this.rates.provider, 'settleTimeout') ? (this.rng() < 0.5 ? 'timeout' : 'timeout-unprocessed') : undefined;
  }

  /** Provider latency in simulated ms; now and then past the caller's deadline (paymentCallTimeoutMs). */
  providerLatencyMs(): number {
    if (this.chance(this.rates.provider / 2, 'providerSlow')) return 12_000;
    return Math.floor(this.rng() * 300);
  }
}
