import client from 'prom-client';

/** The outcomes of boxoffice_checkouts_total (docs/metrics.md has the mapping from answers). */
export const checkoutOutcomes = ['confirmed', 'pending', 'sold_out', 'declined', 'rejected', 'conflict', 'overloaded', 'error'] as const;
export type CheckoutOutcomeLabel = (typeof checkoutOutcomes)[number];

/** Indices into the count arrays, so counting is one array write (no label object hashed per answer). */
const outcomeIndex = Object.fromEntries(checkoutOutcomes.map((o, i) => [o, i])) as Record<CheckoutOutcomeLabel, number>;

/**
 * The outcome of one checkout answer, from its status and error code:
 * 201 confirmed; 202 pending; OUT_OF_STOCK sold_out; PAYMENT_DECLINED declined; IDEMPOTENCY_KEY_IN_USE and
 * IDEMPOTENCY_KEY_REUSED conflict; 429 overloaded; any 5xx error; any other 4xx rejected.
 */
export function checkoutOutcomeOf(status: number, code: string | undefined): CheckoutOutcomeLabel {
  if (status === 201) return 'confirmed';
  if (status === 202) return 'pending';
  if (status >= 500) return 'error';
  if (status === 429) return 'overloaded';
  if (code === 'OUT_OF_STOCK') return 'sold_out';
  if (code === 'PAYMENT_DECLINED') return 'declined';
  if (code === 'IDEMPOTENCY_KEY_IN_USE' || code === 'IDEMPOTENCY_KEY_REUSED') return 'conflict';
  return status >= 400 ? 'rejected' : 'error';
}

/** The error code of an answer body `{ error: { code } }`, if any. */
export function errorCodeOf(body: unknown): string | undefined {
  const error = (body as { error?: { code?: unknown } } | null | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : undefined;
}

/**
 * boxoffice_checkouts_total{outcome} and boxoffice_sold_out_answers_total{path}: plain counts bumped on the checkout
 * path, handed to prom-client when scraped (as boxoffice_checkout_responses_total is).
 */
export function createCheckoutOutcomes(registry: client.Registry) {
  const outcomes = new Array<number>(checkoutOutcomes.length).fill(0);
  const soldOut = { edge: 0, actor: 0 };
  new client.Counter({
    name: 'boxoffice_checkouts_total',
    help: 'Checkouts this node ran and answered, by outcome (replays and forwarded requests not counted).',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      checkoutOutcomes.forEach((outcome, i) => this.inc({ outcome }, outcomes[i]!));
    },
  });
  new client.Counter({
    name: 'boxoffice_sold_out_answers_total',
    help: 'Sold-out checkout answers: edge = from memory at the node entry, without the checkout or SKU actors; actor = after the checkout actor ran.',
    labelNames: ['path'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ path: 'edge' }, soldOut.edge);
      this.inc({ path: 'actor' }, soldOut.actor);
    },
  });
  return {
    /** Counts one answer (not a replay) by its status and error code. */
    count(status: number, code: string | undefined): void {
      outcomes[outcomeIndex[checkoutOutcomeOf(status, code)]]!++;
    },
    /** Counts a sold-out answer by the path that gave it. */
    soldOut(path: 'edge' | 'actor'): void {
      soldOut[path]++;
    },
  };
}

export type CheckoutOutcomes = ReturnType<typeof createCheckoutOutcomes>;
