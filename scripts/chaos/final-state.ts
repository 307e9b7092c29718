/**
 * What the checker reads after a run, gathered once every fault has healed and every hold has had its time to end:
 * the orders table, the SKUs' counters from their owners, and the Stripe test server's store.
 */
export interface OrderRow {
  orderId: string;
  key: string;
  status: string;
  /** Units per SKU on the order's lines. */
  lines: { sku: string; qty: number }[];
}

export interface SkuCounts {
  sku: string;
  onHand: number;
  available: number;
  held: number;
  sold: number;
}

/** One PaymentIntent at the Stripe test server, by the checkout key in its metadata. */
export interface IntentRow {
  id: string;
  /** metadata.checkout_key: the Idempotency-Key of the checkout that created it; null when missing. */
  key: string | null;
  status: string;
  /** A charge of it succeeded: the card was authorized (voided later or not). */
  authorized: boolean;
  /** Its charge was captured. */
  captured: boolean;
}

export interface FinalState {
  orders: OrderRow[];
  skus: SkuCounts[];
  intents: IntentRow[];
}
