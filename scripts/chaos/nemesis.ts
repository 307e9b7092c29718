import type { ChaosCluster } from './chaos-cluster.js';
import type { Fault } from '../../test/stripe-server/faults.js';
import { describeStep, type FaultStep, type ProviderMode } from './schedule.js';

/**
 * Runs the schedule against the chaos cluster, one step at a time: inject, wait the step's fault time, heal, wait
 * its quiet time; no new step starts past the deadline once the first round is done. Each fault pairs with its healing, and `run` always heals
 * the step it is in, even when it fails, so the cluster is whole again when it returns.
 */
export interface NemesisEvent {
  step: FaultStep;
  startedMs: number;
  healedMs: number;
  error: string | null;
}

export interface Nemesis {
  /** The fault in force now, for the progress line ("none" between steps). */
  current(): string;
  /**
   * Runs steps until the schedule or the time is over, but at least the first `stepsMin` whatever the time (the
   * schedule's first round has every enabled fault once); resolves with what was done.
   */
  run(steps: readonly FaultStep[], deadlineMs: number, stepsMin?: number): Promise<NemesisEvent[]>;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createNemesis(env: ChaosCluster): Nemesis {
  let current = 'none';
  return {
    current: () => current,
    async run(steps, deadlineMs, stepsMin = 0) {
      const events: NemesisEvent[] = [];
      for (const step of steps) {
        if (Date.now() >= deadlineMs && events.length >= stepsMin) break;
        const startedMs = Date.now();
        current = describeStep(step);
        let error: string | null = null;
        try {
          const heal = await inject(env, step);
          try {
            await wait(step.faultMs);
          } finally {
            await heal();
          }
        } catch (err) {
          error = (err as Error).message;
        }
        current = 'none';
        events.push({ step, startedMs, healedMs: Date.now(), error });
        await wait(step.quietMs);
      }
      return events;
    },
  };
}

/** Starts the step's fault and answers the function that ends it. */
async function inject(env: ChaosCluster, step: FaultStep): Promise<() => Promise<void>> {
  const node = env.cluster.nodes[step.node % env.cluster.nodes.length]!;
  switch (step.kind) {
    case 'kill':
      if (node.running) await node.kill('SIGKILL');
      return () => node.restart();
    case 'pg-restart':
      env.pg.stopServer();
      return async () => env.pg.startServer();
    case 'redis':
      await env.redis.kill();
      return () => env.redis.start();
    case 'sigstop': {
      const child = node.child;
      child.kill('SIGSTOP');
      return async () => void child.kill('SIGCONT');
    }
    case 'provider':
      env.stripe.faults.next({ match: { method: 'POST', path: /^\/v1\/payment_intents$/ }, fault: providerFault(step.providerMode), times: 1_000 });
      return async () => void env.stripe.faults.clear();
    case 'netslow': {
      const proxy = env.links[step.node % env.links.length];
      if (proxy === undefined) throw new Error('netslow: no proxies between the nodes');
      proxy.setDelayMs(step.delayMs);
      return async () => proxy.setDelayMs(0);
    }
  }
}

/**
 * What PaymentIntent creations meet: a 500 before anything runs (the adapter retries, then the circuit opens),
 * an answer lost after the intent was made (the SDK retries once with the same key and gets the replay), or an
 * answer held past the adapter's 8 s timeout (an unknown outcome: retried, then 202 pending for the sweeper).
 */
function providerFault(mode: ProviderMode): Fault {
  if (mode === 'status-500') return { t: 'status', status: 500, when: 'before' };
  if (mode === 'drop-after') return { t: 'drop', when: 'after' };
  return { t: 'delay', ms: 9_000, when: 'after' };
}
