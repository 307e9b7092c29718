import type { CheckoutReply } from '../../src/actors/checkout-actor.js';
import type { CheckoutRequest } from '../../src/domain/checkout.js';
import { renderCheckoutResult, retentionOf } from '../../src/domain/checkout-result.js';
import { intBetween, pick, type Rng } from '../support/seeded-random.js';
import type { SimFaults } from './sim-faults.js';
import type { SimWorld } from './sim-world.js';

/** One answer a client read, rendered as the HTTP layer renders it. */
export interface Answer {
  statusCode: number;
  body: unknown;
  replayed: boolean;
  /**
   * 'retry': the key is free or busy (refused, or a rejection that is forgotten): the client tries again.
   * 'memory': an answer kept in one node's memory only (rejected before any side effect).
   * 'durable': the key's answer for good; every later answer that stands must equal it.
   */
  kind: 'retry' | 'memory' | 'durable';
}

const address = { name: 'Ada', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' };

/**
 * A shopper with one Idempotency-Key: sends the checkout, retries after a retryable answer or a reset connection
 * (same key, same body), now and then sends a duplicate while the first is in flight, and replays the key after
 * its answer.
 */
export class SimClient {
  readonly answers: Answer[] = [];
  final: Answer | null = null;
  inFlight = 0;
  retryAtMs = 0;
  lost = 0;

  constructor(
    readonly key: string,
    readonly request: CheckoutRequest,
  ) {}

  get fingerprint(): string {
    return `fp:${JSON.stringify(this.request.items)}:${this.request.paymentMethod}`;
  }

  /** Lines of the request, for the checker. */
  lines(): { sku: string; qty: number }[] {
    return this.request.items ?? [];
  }
}

export function makeClients(rng: Rng, faults: SimFaults, seed: number, n: number, skus: string[]): SimClient[] {
  return Array.from({ length: n }, (_, i) => {
    const first = pick(rng, skus);
    const items = [{ sku: first, qty: intBetween(rng, 1, 2) }];
    if (rng() < 0.25) {
      const second = pick(rng, skus);
      if (second !== first) items.push({ sku: second, qty: 1 });
    }
    const declined = faults.chance(0.08, 'providerDecline');
    const request: CheckoutRequest = {
      cartId: null, items, paymentMethod: declined ? 'pm_card_chargeDeclined' : 'pm_card_visa', address, shippingMethod: 'standard', customerId: null, promoCode: null,
    };
    return new SimClient(`k${seed}-${i}`, request);
  });
}

export function answerOf(reply: CheckoutReply): Answer {
  const { statusCode, body } = renderCheckoutResult(reply.result);
  const r = reply.result;
  const kind = r.t === 'refused' ? 'retry' : r.t === 'rejected' ? ({ forget: 'retry', memory: 'memory', durable: 'durable' } as const)[retentionOf(r)] : 'durable';
  return { statusCode, body, replayed: reply.replayed, kind };
}

/**
 * Sends the client's request to the world. Requests to a node that crashes before answering are lost (a reset
 * connection): the client retries later. `onAnswer` runs for every answer read.
 */
export function send(world: SimWorld, c: SimClient, onAnswer: (c: SimClient, a: Answer) => void): void {
  const { node, reply } = world.submit(c.key, c.fingerprint, c.request);
  c.inFlight++;
  let done = false;
  const finish = () => {
    done = true;
    c.inFlight--;
  };
  // Reset by a crash: the node was alive when asked and died before answering.
  if (node) node.onCrash(() => {
    if (done) return;
    finish();
    c.lost++;
    c.retryAtMs = world.clock.now() + intBetween(world.rng, 100, 2_000);
  });
  void reply.then((r) => {
    if (done || (node !== null && !node.alive)) return;
    finish();
    const a = answerOf(r);
    c.answers.push(a);
    onAnswer(c, a);
    if (a.kind === 'retry') c.retryAtMs = world.clock.now() + intBetween(world.rng, 50, 2_000);
    else c.final ??= a;
  });
}
