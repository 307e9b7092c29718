/**
 * Every limit boxoffice enforces, in one place. Units are in the names, qualifier last (TigerBeetle style).
 * A request that exceeds one of these gets a 4xx with the error code named beside it and changes nothing.
 */
export const limits = {
  /** Request body size; larger bodies get 413 BODY_TOO_LARGE before any parsing. */
  bodyBytesMax: 64 * 1024,
  /** Body of the admin bulk catalog import (413 BODY_TOO_LARGE), and the items in one import (400). */
  bulkBodyBytesMax: 4 * 1024 * 1024,
  bulkItemsMax: 10_000,
  /** Lines in one cart or one buy-now checkout (422 CART_LINES_LIMIT_EXCEEDED). */
  cartLinesMax: 50,
  /** Quantity on one line (422 QUANTITY_LIMIT_EXCEEDED; zero, negative or fractional is 400 VALIDATION_FAILED). */
  lineQtyMax: 1_000,
  /** SKU length; SKUs match skuPattern (400 VALIDATION_FAILED). */
  skuLengthMax: 64,
  /** Idempotency-Key header length (400 IDEMPOTENCY_KEY_INVALID). */
  idempotencyKeyLengthMax: 255,
  /** Ids a client sends back to us (cart ids, order ids) are at most this long (404 when longer: no such id). */
  idLengthMax: 64,
  /** Product and customer names, address lines. */
  textLengthMax: 200,
  /** Unit price in minor units (400 VALIDATION_FAILED). Keeps every line product below 2^53 with tax math. */
  priceMinorMax: 100_000_000,
  /** Weight of one unit in grams. */
  weightGramsMax: 1_000_000,
  /** On-hand stock of one SKU. */
  onHandMax: 1_000_000_000,
  /** Promo code length; codes match promoCodePattern. */
  promoCodeLengthMax: 32,
  /** Usage limits of one promotion. */
  promoUsageMax: 1_000_000_000,
  /** Hold TTL bounds (nact timers go through x|0; keep far below 24.8 days). */
  holdTtlMsMin: 1_000,
  holdTtlMsMax: 24 * 60 * 60 * 1000,
  /** Checkouts in flight on one node before new ones get 429 OVERLOADED with Retry-After. */
  checkoutsInFlightMax: 20_000,
  /** Messages queued for one inventory actor before new reservations get 429 OVERLOADED. */
  inventoryMailboxMax: 50_000,
  /** Group commit: rows per journal INSERT and the longest a row waits for its batch. */
  journalBatchRowsMax: 5_000,
  journalBatchDelayMsMax: 2,
  /** Order writes per transaction. */
  orderBatchMax: 1_000,
  /** Any single await on an actor or provider is bounded by this (NACT.md pitfall 6). */
  actorAskTimeoutMs: 30_000,
  /** Payment provider call timeout and retries with the same idempotency key before the outcome is "unknown". */
  paymentCallTimeoutMs: 10_000,
  paymentRetriesMax: 2,
  /** Idempotency records are kept at least this long. */
  idempotencyRetentionMs: 24 * 60 * 60 * 1000,
  /** Responses of checkouts rejected before any side effect are replayed from memory, bounded. */
  idempotencyMemoryEntriesMax: 200_000,
} as const;

export const skuPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const promoCodePattern = /^[A-Z0-9][A-Z0-9_-]{0,31}$/;
export const currencyPattern = /^[A-Z]{3}$/;
export const countryPattern = /^[A-Z]{2}$/;

/** Cluster mode: placement, forwarding and messages between nodes (src/cluster, src/edge). */
export const clusterLimits = {
  /** Longest a request waits for a partition in motion or an unknown route (then 503 PARTITION_UNAVAILABLE). */
  routeWaitMs: 5_000,
  /** Requests waiting for routes at once; more get 503 PARTITION_UNAVAILABLE at once. */
  routeWaitersMax: 10_000,
  /** A forwarded HTTP request (a checkout may wait for the payment provider); past it, 503 PARTITION_UNAVAILABLE. */
  forwardTimeoutMs: 30_000,
  /** Inventory, cart and promotion commands to another node, retries included; past it the saga runs again later. */
  inventoryTimeoutMs: 10_000,
  /** Hops of one forwarded request; a request past it gets 503 PARTITION_UNAVAILABLE (the routes disagree). */
  forwardHopsMax: 2,
  /** After an owner did not answer, a command waits this long for a newer route before it tries again. */
  staleRouteRetryMs: 250,
  /** A release gives up (503 MOVE_FAILED) when the partition's checkouts have not finished within this. */
  releaseIdleMsMax: 10_000,
  /** Admin operations forwarded to the coordinator (a drain moves many partitions); past it, 503 COORDINATOR_UNAVAILABLE. */
  adminRpcTimeoutMs: 60_000,
  /** Broadcasts (product changes, sold-out gossip) wait this long per peer; a peer that misses one is logged. */
  broadcastTimeoutMs: 5_000,
  /** How often a node tells its peers which of its SKUs are sold out (they answer 409 OUT_OF_STOCK from that). */
  soldOutGossipMs: 100,
  /** A peer forgets a sold-out mark it has not heard again for this long (the owner died or stopped telling). */
  soldOutMarkTtlMs: 500,
  /** SKUs per sold-out message, and marks kept per node; past them the oldest marks go (they are asked for again). */
  soldOutSkusPerMessageMax: 10_000,
  soldOutMarksMax: 100_000,
  /** Promotion usage read from other owners, kept for pricing; past it the oldest entries are read again. */
  remoteUsageEntriesMax: 10_000,
  /** Redis errors are logged at most once per this interval (routing keeps serving known routes meanwhile). */
  redisErrorLogIntervalMs: 5_000,
} as const;

/** A node's own housekeeping (src/node): snapshots, compaction, cart cleanup. None of these refuses a request. */
export const nodeLimits = {
  /** A SKU is snapshotted every this many events, so recovery reads a snapshot and a short tail (raises no error). */
  snapshotEveryEvents: 1_000,
  /** Snapshots waiting in memory are written this often (raises no error). */
  snapshotFlushIntervalMs: 1_000,
  /** Journal rows covered by snapshots are deleted this often (raises no error). */
  compactIntervalMs: 60_000,
  /** Expired carts are deleted this often (raises no error; an expired cart answers 410 CART_EXPIRED until then). */
  cartCleanupIntervalMs: 60_000,
} as const;
