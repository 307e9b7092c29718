import { intBetween, intBelow, seededRng, shuffle, type Rng } from '../../test/support/seeded-random.js';

/**
 * The nemesis's schedule, a pure function of the seed: the same seed, duration and fault list give the same steps
 * (which fault, which node, for how long, how long the quiet after it). Execution times vary with the machine; the
 * schedule does not. The first round takes every enabled fault once, in a seeded order, so a run long enough for
 * one round sees each kind; later rounds draw kinds at random.
 */
export const faultKinds = ['kill', 'pg-restart', 'redis', 'sigstop', 'provider', 'netslow'] as const;
export type FaultKind = (typeof faultKinds)[number];

/** The provider misbehaviours a `provider` step scripts at the Stripe test server. */
export type ProviderMode = 'status-500' | 'drop-after' | 'timeout';

export interface FaultStep {
  kind: FaultKind;
  /** Index of the node it hits (kill, sigstop, netslow); ignored by the others. */
  node: number;
  /** How long the fault lasts: the node down, the server stopped, the process paused, the provider failing. */
  faultMs: number;
  /** Quiet time after healing, before the next step. */
  quietMs: number;
  /** For `provider`: what the Stripe test server does to PaymentIntent creations meanwhile. */
  providerMode: ProviderMode;
  /** For `netslow`: delay added to every chunk between nodes, each way. */
  delayMs: number;
}

export const scheduleLimits = {
  /** Quiet before the first fault: the sale gets going. */
  warmupMs: 2_000,
  quietMsMin: 1_000,
  quietMsMax: 3_000,
  /**
   * Per kind, the fault's length. sigstop must outlast MEMBER_TTL_MS (1,500 in chaos runs) well enough that the
   * partitions move while the node sleeps; a provider timeout needs the adapter's 8 s request timeout to pass.
   */
  faultMs: {
    kill: [500, 2_000],
    'pg-restart': [1_000, 4_000],
    redis: [1_000, 4_000],
    sigstop: [3_500, 5_000],
    provider: [2_000, 5_000],
    netslow: [2_000, 5_000],
  } satisfies Record<FaultKind, [number, number]>,
  netDelayMs: [20, 200] as [number, number],
  /** A schedule never has more steps than this (an hour of the shortest steps). */
  stepsMax: 2_000,
} as const;

export function makeSchedule(seed: number, durationMs: number, kinds: readonly FaultKind[], nodes: number): FaultStep[] {
  if (kinds.length === 0) return [];
  const rng = seededRng(seed ^ 0x5eed);
  const steps: FaultStep[] = [];
  let nominalMs = scheduleLimits.warmupMs;
  const firstRound = shuffle(rng, [...kinds]);
  while (nominalMs < durationMs && steps.length < scheduleLimits.stepsMax) {
    const kind = firstRound[steps.length] ?? kinds[intBelow(rng, kinds.length)]!;
    const step = makeStep(rng, kind, nodes);
    steps.push(step);
    nominalMs += step.faultMs + step.quietMs;
  }
  return steps;
}

function makeStep(rng: Rng, kind: FaultKind, nodes: number): FaultStep {
  const [lo, hi] = scheduleLimits.faultMs[kind];
  const modes: ProviderMode[] = ['status-500', 'drop-after', 'timeout'];
  return {
    kind,
    node: intBelow(rng, nodes),
    faultMs: intBetween(rng, lo, hi),
    quietMs: intBetween(rng, scheduleLimits.quietMsMin, scheduleLimits.quietMsMax),
    providerMode: modes[intBelow(rng, modes.length)]!,
    delayMs: intBetween(rng, scheduleLimits.netDelayMs[0], scheduleLimits.netDelayMs[1]),
  };
}

/** One line per step, for the report and for comparing two runs of a seed. */
export function describeStep(s: FaultStep): string {
  const detail = s.kind === 'provider' ? ` ${s.providerMode}` : s.kind === 'netslow' ? ` +${s.delayMs} ms` : '';
  const target = s.kind === 'kill' || s.kind === 'sigstop' || s.kind === 'netslow' ? ` node-${s.node + 1}` : '';
  return `${s.kind}${target}${detail} for ${s.faultMs} ms, quiet ${s.quietMs} ms`;
}
