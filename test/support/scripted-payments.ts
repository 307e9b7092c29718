import { SimulatedPaymentProvider, type SettleOperation, type SimulatedFault } from '../../src/payments/simulated-provider.js';
import type { AuthorizeRequest } from '../../src/payments/provider.js';

/**
 * A simulated provider a test can steer, for HTTP tests that share one node per file:
 * - `pm_card_amex` stands for a card whose authorization answers never arrive: every authorize call with it takes
 *   effect at the provider and then rejects at once with PaymentTimeoutError (the 'timeout' fault), so the saga's
 *   retries run out quickly and the checkout is answered 202 pending. The pending sweeper keeps meeting the same
 *   fault, so such an order stays pending for the whole test file.
 * - `holdNextAuthorize(checkoutKey?)` parks the next authorize call (of that checkout's Idempotency-Key, when given:
 *   a background authorize, a resumed saga's, must not take the place of the test's) after the provider acted and
 *   before it answers; the test
 *   learns that the call arrived from `reached` and lets it answer with `release()`. No timer is involved: the
 *   provider's injected `sleep` waits on the test's promise.
 * - `failNextSettle(op, fault)` injects one fault into the next capture, void or refund.
 * - `settled` lists every capture, void and refund call as `<op> <idempotency key> <amount>`, in arrival order.
 */
export const timeoutCard = 'pm_card_amex';

export interface HeldAuthorize {
  /** Resolves when an authorize call reached the provider and is waiting. */
  reached: Promise<void>;
  /** Lets the waiting call answer. */
  release(): void;
}

export interface ScriptedPayments {
  provider: SimulatedPaymentProvider;
  holdNextAuthorize(checkoutKey?: string): HeldAuthorize;
  failNextSettle(op: SettleOperation, fault: SimulatedFault): void;
  settled: string[];
}

export function scriptedPayments(): ScriptedPayments {
  let next: { arrived: () => void; released: Promise<void>; checkoutKey: string | undefined } | null = null;
  // The authorize request being handled: its beforeAuthorize, latency and sleep run in one synchronous stretch.
  let current: AuthorizeRequest | null = null;
  const isHeld = () => next !== null && (next.checkoutKey === undefined || current?.metadata?.['checkoutKey'] === next.checkoutKey);
  const settleFaults = new Map<SettleOperation, SimulatedFault>();
  const settled: string[] = [];
  const provider = new SimulatedPaymentProvider({
    beforeAuthorize: (req) => {
      current = req;
      return req.paymentMethod === timeoutCard ? 'timeout' : undefined;
    },
    beforeSettle: (op, req) => {
      settled.push(`${op} ${req.idempotencyKey}${'amountMinor' in req ? ` ${req.amountMinor}` : ''}`);
      const fault = settleFaults.get(op);
      settleFaults.delete(op);
      return fault;
    },
    // A latency of 1 ms only marks the call as "wait"; `sleep` decides how long the wait really is.
    latencyMs: (op) => (op === 'authorize' && isHeld() ? 1 : 0),
    sleep: () => {
      const held = next;
      next = null;
      if (held === null) return Promise.resolve();
      held.arrived();
      return held.released;
    },
  });
  return {
    provider,
    settled,
    holdNextAuthorize(checkoutKey) {
      let arrived = (): void => undefined;
      let release = (): void => undefined;
      const reached = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      next = { arrived, released, checkoutKey };
      return { reached, release };
    },
    failNextSettle(op, fault) {
      settleFaults.set(op, fault);
    },
  };
}
