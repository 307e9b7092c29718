import { testAddress } from '../../test/support/node-harness.js';
import { intBelow, intBetween, seededRng, type Rng } from '../../test/support/seeded-random.js';
import type { TestCluster } from '../../test/support/cluster-harness.js';
import { History, type Operation } from './history.js';
import { wantsRetry } from './outcome.js';

/**
 * The flash sale: `clients` buyers, each sending checkouts one after another to a node it picks at random, and
 * retrying a checkout without a final answer with the same Idempotency-Key (as a storefront does) until it gets one
 * or the drain deadline passes. Every attempt goes into the history.
 */
export const workloadLimits = {
  /** Past the adapter's whole Stripe budget (9 s) and a partition's 5 s wait: no answer by then is unknown. */
  requestMsMax: 15_000,
  /** Pause before retrying a key; Retry-After is honoured up to retryPauseMsMax. */
  retryPauseMsMin: 50,
  retryPauseMsMax: 1_000,
  /** After the stop, a buyer still retrying a key keeps at it this long before leaving it unknown. */
  drainMsMax: 30_000,
} as const;

export interface SaleSku {
  sku: string;
  onHand: number;
}

export interface Workload {
  history: History;
  /** Asks every buyer to finish its current key (retrying it, bounded) and take no new one; resolves when all did. */
  stop(): Promise<void>;
}

/** Card outcomes the buyers use: mostly authorizations, some declines (test cards of the Stripe test server). */
const paymentMethods = ['pm_card_visa', 'pm_card_visa', 'pm_card_visa', 'pm_card_visa', 'pm_card_mastercard', 'pm_card_visa', 'pm_card_visa', 'pm_card_visa', 'pm_card_chargeDeclined', 'pm_card_chargeDeclinedInsufficientFunds'];

/** Each buyer draws from its own generator seeded from `seed`, so its sequence of checkouts replays with the seed. */
export function startWorkload(c: TestCluster, seed: number, runId: string, skus: readonly SaleSku[], clients: number): Workload {
  const history = new History();
  const state = { stopping: false, drainUntilMs: Infinity };
  const buyers = Array.from({ length: clients }, (_, i) => buyer(c, seededRng((seed + 7_919 * (i + 1)) >>> 0), history, state, runId, i, skus));
  return {
    history,
    async stop() {
      state.stopping = true;
      state.drainUntilMs = Date.now() + workloadLimits.drainMsMax;
      await Promise.all(buyers);
    },
  };
}

interface WorkloadState {
  stopping: boolean;
  drainUntilMs: number;
}

async function buyer(c: TestCluster, rng: Rng, history: History, state: WorkloadState, runId: string, client: number, skus: readonly SaleSku[]): Promise<void> {
  for (let n = 0; !state.stopping; n++) {
    const op = makeOperation(rng, `${runId}-c${client}-${n}`, skus);
    history.invoke(op);
    for (let attempt = 0; ; attempt++) {
      const { retry, pauseMs } = await sendOnce(c, rng, history, client, op);
      if (!retry || Date.now() > state.drainUntilMs) break;
      const backoffMs = workloadLimits.retryPauseMsMin * 2 ** Math.min(attempt, 4);
      await new Promise((resolve) => setTimeout(resolve, Math.min(workloadLimits.retryPauseMsMax, Math.max(pauseMs, backoffMs))));
    }
  }
}

function makeOperation(rng: Rng, key: string, skus: readonly SaleSku[]): Operation {
  const first = intBelow(rng, skus.length);
  const lines = [{ sku: skus[first]!.sku, qty: intBetween(rng, 1, 2) }];
  const second = intBelow(rng, skus.length * 3); // a second line one time in three
  if (second < skus.length && second !== first) lines.push({ sku: skus[second]!.sku, qty: 1 });
  return { key, lines, paymentMethod: paymentMethods[intBelow(rng, paymentMethods.length)]! };
}

/** One attempt of `op` at a random running node; records it and says whether the key needs another. */
async function sendOnce(c: TestCluster, rng: Rng, history: History, client: number, op: Operation): Promise<{ retry: boolean; pauseMs: number }> {
  const live = c.nodes.filter((n) => n.running);
  const node = live.length > 0 ? live[intBelow(rng, live.length)]! : c.nodes[intBelow(rng, c.nodes.length)]!;
  const invokeMs = Date.now();
  const base = { client, key: op.key, node: node.id, invokeMs };
  try {
    const res = await fetch(`${node.url}/api/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': op.key },
      body: JSON.stringify({ items: op.lines, paymentMethod: op.paymentMethod, address: testAddress }),
      signal: AbortSignal.timeout(workloadLimits.requestMsMax),
    });
    const body = (await res.json().catch(() => null)) as { orderId?: string; error?: { code?: string } } | null;
    const a = history.complete({ ...base, completeMs: Date.now(), status: res.status, code: body?.error?.code ?? null, orderId: body?.orderId ?? null, error: null });
    // A 202 is the key's stored answer (payment outcome pending): a retry would replay it; the sweeper decides.
    const retry = res.status !== 202 && wantsRetry(a.kind);
    const retryAfterMs = Number(res.headers.get('retry-after') ?? '0') * 1_000;
    return { retry, pauseMs: Math.min(workloadLimits.retryPauseMsMax, Math.max(workloadLimits.retryPauseMsMin, retryAfterMs)) };
  } catch (err) {
    history.complete({ ...base, completeMs: Date.now(), status: null, code: null, orderId: null, error: (err as Error).message });
    return { retry: true, pauseMs: workloadLimits.retryPauseMsMin };
  }
}
