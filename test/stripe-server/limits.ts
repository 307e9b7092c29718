/**
 * Every limit of the Stripe test server, in one place (STYLE.md habit 5). Each entry's comment names what a caller
 * meets past it: the HTTP answer (status, Stripe error type, code) or "raises no error" and what happens instead.
 * `startStripeTestServer({ limits })` may override any entry (the bench raises the stores; a test lowers one to
 * reach it); the defaults suit the test suite and a bench run of ~50,000 checkouts.
 */
export const stripeServerLimits = {
  /** Request body bytes; past it: 400 invalid_request_error (the rest of the body is read and dropped first). */
  bodyBytesMax: 64 * 1024,
  /** Form fields in one request (body or query); past it: 400 invalid_request_error. */
  paramsCountMax: 256,
  /** Length of one form key such as `metadata[order_id]`; past it: 400 invalid_request_error. */
  paramKeyLengthMax: 200,
  /** Bracket depth of one form key (`a[b][c]` is 3); past it: 400 invalid_request_error. */
  paramDepthMax: 5,
  /** Length of one string value (Stripe's spec caps most strings at 5000); past it: 400 invalid_request_error. */
  paramValueLengthMax: 5_000,
  /** Metadata keys on one object (Stripe's documented 50); past it: 400 invalid_request_error, param metadata. */
  metadataKeysMax: 50,
  /** Length of a metadata key (Stripe's documented 40); past it: 400 invalid_request_error, param metadata[key]. */
  metadataKeyLengthMax: 40,
  /** Length of a metadata value (Stripe's documented 500); past it: 400 invalid_request_error, param metadata[key]. */
  metadataValueLengthMax: 500,
  /** Largest amount in minor units (Stripe's eight digits); past it: 400 invalid_request_error code amount_too_large. */
  amountMinorMax: 99_999_999,
  /** Idempotency-Key length (Stripe's documented 255); past it: 400 invalid_request_error, nothing processed. */
  idempotencyKeyLengthMax: 255,
  /**
   * Completed idempotency entries kept; raises no error: past it the oldest completed entry is forgotten, so a very
   * late retry with that key is processed as new (as at Stripe once a key is pruned after 24 hours).
   */
  idempotencyEntriesMax: 100_000,
  /** PaymentIntents stored; past it a create gets 400 invalid_request_error code test_server_capacity, nothing stored. */
  paymentIntentsMax: 50_000,
  /** Search query length (the spec's maxLength 5000); past it: 400 invalid_request_error, param query. */
  searchQueryLengthMax: 5_000,
  /** Clauses joined by AND or OR in one search query (Stripe's 10); past it: 400 invalid_request_error, param query. */
  searchClausesMax: 10,
  /** Largest `limit` of one search page (Stripe's 100); past it: 400 invalid_request_error, param limit. */
  searchPageSizeMax: 100,
  /** Wire log entries kept in `calls`; raises no error: past it the oldest entries are dropped in one batch. */
  callsMax: 100_000,
  /** Scripted faults waiting at once; past it `faults.next` throws (a test that scripts that many has a bug). */
  faultsMax: 1_000,
  /** Webhook events kept for `webhookEvents()`; raises no error: past it the oldest is forgotten. */
  webhookEventsMax: 20_000,
  /** Delivery records kept for `webhookDeliveries()`; raises no error: past it the oldest is forgotten. */
  webhookDeliveriesMax: 20_000,
  /**
   * Attempts to deliver one event on its own (the first and the retries); raises no error: past it the event is
   * given up and every failed attempt stays in `webhookDeliveries()`. Stripe retries for three days; tests need
   * an end, and `deliverWebhook(id)` sends any event again on demand.
   */
  webhookAttemptsMax: 3,
  /** Wait before the second attempt, doubled each time after; raises no error. */
  webhookRetryDelayMs: 20,
  /** One delivery attempt's deadline; past it the attempt is recorded as failed ('timeout') and retried. */
  webhookTimeoutMs: 2_000,
} as const;

export type StripeServerLimits = { -readonly [K in keyof typeof stripeServerLimits]: number };
