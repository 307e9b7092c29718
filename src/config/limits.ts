/**
 * Every limit boxoffice enforces, in one place (STYLE.md habit 5): this file is the index, and the modules that
 * apply a limit import it from here. Units are in the names, qualifier last (TigerBeetle style). Every limit's
 * comment names the error a caller meets past it — a catalogue code (src/errors.ts), a transport or CLI code — or
 * says "raises no error" and what happens instead; test/unit/config/limits.test.ts holds every entry to that.
 * A request that exceeds a request limit gets a 4xx with the code named beside it and changes nothing.
 * It is longer than 400 lines because it is that one index: splitting it would hide limits from each other.
 */

/** What a request may carry and what one node takes on at once (src/http, src/actors). */
export const limits = {
  /** Request body size; larger bodies get 413 BODY_TOO_LARGE before any parsing. */
  bodyBytesMax: 64 * 1024,
  /**
   * A request refused while its body is still coming (413 BODY_TOO_LARGE, 415 UNSUPPORTED_MEDIA_TYPE, 503 NOT_READY)
   * has up to this many more bytes read and dropped before its answer and the close, so a client still sending reads
   * the answer instead of a reset; a body declared larger gets the answer and the close at once.
   */
  lingerBytesMax: 64 * 1024 * 1024,
  /** …for at most this long (then the answer and the close, whatever is left unread; raises no error of its own)… */
  lingerMs: 10_000,
  /** …and only while the client keeps sending: a pause this long ends it (raises no error of its own). */
  lingerIdleMs: 500,
  /**
   * A streamed response (server-sent events) whose client has not read this many chunks in a row (each dropped
   * while uWS still held an unsent one: at the dashboard's one frame a second, 30 s) is cut: its connection closed
   * and its producer stopped, so a client that stopped reading frees its slot (raises no error: the stream just ends).
   */
  streamDroppedChunksMax: 30,
  /** Body of the admin bulk catalog import; larger ones get 413 BODY_TOO_LARGE. */
  bulkBodyBytesMax: 4 * 1024 * 1024,
  /** Items in one bulk catalog import; more get 400 VALIDATION_FAILED. */
  bulkItemsMax: 10_000,
  /**
   * Returned orders a SKU remembers to make a repeated restock a no-op (carried in its snapshots); the oldest is
   * forgotten past it (raises no error: a cancel's restock is retried long before).
   */
  returnedOrdersPerSkuMax: 10_000,
  /** Lines in one cart or one buy-now checkout (422 CART_LINES_LIMIT_EXCEEDED). */
  cartLinesMax: 50,
  /** Quantity on one line (422 QUANTITY_LIMIT_EXCEEDED; zero, negative or fractional is 400 VALIDATION_FAILED). */
  lineQtyMax: 1_000,
  /** SKU length; SKUs match skuPattern (400 VALIDATION_FAILED). */
  skuLengthMax: 64,
  /** Idempotency-Key header length (400 IDEMPOTENCY_KEY_INVALID). */
  idempotencyKeyLengthMax: 255,
  /** Ids a client sends back to us (cart ids, order ids) are at most this long (404 CART_NOT_FOUND / ORDER_NOT_FOUND when longer: no such id). */
  idLengthMax: 64,
  /** Product and customer names, address lines (400 VALIDATION_FAILED). */
  textLengthMax: 200,
  /** Unit price in minor units (400 VALIDATION_FAILED). Keeps every line product below 2^53 with tax math. */
  priceMinorMax: 100_000_000,
  /** Weight of one unit in grams (400 VALIDATION_FAILED). */
  weightGramsMax: 1_000_000,
  /** On-hand stock of one SKU (400 VALIDATION_FAILED). */
  onHandMax: 1_000_000_000,
  /** Promo code length; codes match promoCodePattern (400 VALIDATION_FAILED). */
  promoCodeLengthMax: 32,
  /** Usage limits of one promotion (400 VALIDATION_FAILED). */
  promoUsageMax: 1_000_000_000,
  /** Shortest hold TTL (400 VALIDATION_FAILED for an admin hold; HOLD_TTL_MS below it stops the node, exit 2). */
  holdTtlMsMin: 1_000,
  /** Longest hold TTL, far below nact's 24.8-day timer wrap (400 VALIDATION_FAILED; HOLD_TTL_MS above it: exit 2). */
  holdTtlMsMax: 24 * 60 * 60 * 1000,
  /** Checkouts in flight on one node before new ones get 429 OVERLOADED with Retry-After. */
  checkoutsInFlightMax: 20_000,
  /** Messages queued for one inventory actor before new commands get 429 OVERLOADED. */
  inventoryMailboxMax: 50_000,
  /** Group commit: rows per journal INSERT (JOURNAL_BATCH_ROWS above it stops the node, exit 2). */
  journalBatchRowsMax: 5_000,
  /** Group commit: the longest a row waits for its batch (JOURNAL_BATCH_DELAY_MS above it stops the node, exit 2). */
  journalBatchDelayMsMax: 2,
  /** Order writes per transaction (raises no error: more wait for the next transaction). */
  orderBatchMax: 1_000,
  /** Any single await on an actor is bounded by this (NACT.md pitfall 6); past it the command answers 500 INTERNAL. */
  actorAskTimeoutMs: 30_000,
  /** Payment provider call timeout; past it the call counts as PaymentTimeoutError (outcome unknown, retried). */
  paymentCallTimeoutMs: 10_000,
  /** Retries with the same idempotency key (raises no error: past them the outcome is unknown, the checkout answers 202 pending and the sweeper decides). */
  paymentRetriesMax: 2,
  /**
   * Holds a SKU remembers as recently committed (memory only, not in snapshots), so a saga resumed by a partition's
   * new owner cannot reserve again what the old owner's run just committed (raises no error: the oldest are
   * forgotten).
   */
  recentlyCommittedHoldsMax: 10_000,
  /** Idempotency records are kept at least this long (raises no error: a replay within it gets the stored answer). */
  idempotencyRetentionMs: 24 * 60 * 60 * 1000,
  /** Answered keys kept in memory per node (raises no error: older durable answers are looked up again). */
  idempotencyMemoryEntriesMax: 200_000,
} as const;

export const skuPattern = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${limits.skuLengthMax - 1}}$`);
export const promoCodePattern = new RegExp(`^[A-Z0-9][A-Z0-9_-]{0,${limits.promoCodeLengthMax - 1}}$`);
export const currencyPattern = /^[A-Z]{3}$/;
export const countryPattern = /^[A-Z]{2}$/;
/** Idempotency keys are printable ASCII (Stripe's rule), 1 to idempotencyKeyLengthMax characters. */
export const idempotencyKeyPattern = new RegExp(`^[\\x20-\\x7e]{1,${limits.idempotencyKeyLengthMax}}$`);

/** What the payment provider accepts (src/payments). */
export const providerLimits = {
  /** Stripe's longest idempotency key; the provider refuses a longer one and the checkout answers 502 PAYMENT_PROVIDER_ERROR (ours are ~30 characters). */
  idempotencyKeyLengthMax: 255,
} as const;

/** The Stripe adapter (src/payments/stripe-provider.ts). */
export const stripeLimits = {
  /** The SDK's own deadline per request, below paymentCallTimeoutMs; past it the outcome is unknown (PaymentTimeoutError; the checkout ends 202 pending when retries run out). */
  requestTimeoutMs: 8_000,
  /**
   * One adapter call in all, retries and backoff included; below paymentCallTimeoutMs so the caller never gives up
   * while a retry is still going out (past it: the last failure, a 5xx as an unknown outcome; raises no error itself).
   */
  callBudgetMs: 9_000,
  /** A retry is not started with less of the budget left than this (raises no error). */
  attemptMinMs: 500,
  /** Retries of a 429 or 5xx answer with the same key; past them a 429 is a retryable error and a 5xx an unknown outcome (raises no error of its own). */
  retriesMax: 2,
  /** Backoff before retry n: up to base · 2^n, capped, half of it random (raises no error). */
  retryDelayMsBase: 100,
  /** The backoff's cap (raises no error). */
  retryDelayMsMax: 2_000,
  /** Failures in a row (connection errors, timeouts, 429, 5xx) that open the circuit: checkouts then answer 503 PAYMENT_PROVIDER_UNAVAILABLE. */
  breakerFailuresMax: 5,
  /** How long the circuit stays open before it lets calls through again (503 PAYMENT_PROVIDER_UNAVAILABLE with Retry-After meanwhile). */
  breakerOpenMs: 10_000,
  /** Calls to Stripe in flight at once; past it, checkouts answer 503 PAYMENT_PROVIDER_UNAVAILABLE before reserving anything. */
  callsInFlightMax: 256,
  /** PaymentIntents read per search page (reconciliation reads further pages next round; raises no error). */
  searchPageMax: 100,
} as const;

/** The actors' own bounds (src/actors). */
export const actorLimits = {
  /** Messages one actor handles per event-loop turn before yielding to the others (raises no error: fairness). */
  drainBatchMax: 256,
  /** Backoff of a checkout saga that threw, doubling from this (raises no error; the waiting client got 503 NOT_READY). */
  sagaRetryDelayMsBase: 200,
  /** The backoff's cap (raises no error). */
  sagaRetryDelayMsMax: 30_000,
  /** Pending orders resolved per sweep (raises no error: the rest wait for the next sweep). */
  pendingPerSweepMax: 200,
  /** Snapshots waiting in memory that start a write at once (raises no error). */
  snapshotsFlushAtPending: 5_000,
  /** Snapshots waiting in memory at most (raises no error: the oldest are dropped; recovery reads a longer tail). */
  snapshotsPendingMax: 100_000,
  /** Carts cached in memory (raises no error: older ones are read back from the database). */
  cartCacheEntriesMax: 100_000,
  /** How often a release looks again whether its partition's checkouts have finished (raises no error). */
  releaseIdlePollMs: 5,
  /** Idempotency keys created this long before the last scan are read again on acquire (raises no error). */
  keyScanOverlapSeconds: 120,
  /** Keys one statement of the known-keys scan reads (a page; the scan takes as many as the window holds; raises no error). */
  keyScanPageRowsMax: 10_000,
  /** Random bytes drawn from the CSPRNG at a time, for ids (raises no error). */
  randomPoolBytes: 64 * 1024,
  /** Longest single timer armed; longer deadlines re-arm, since Node and nact wrap delays past 24.8 days (raises no error). */
  timerSliceMsMax: 60 * 60 * 1000,
} as const;

/** The journal and the stores (src/persistence). */
export const persistenceLimits = {
  /** Attempts at one journal batch that fails for a reason other than an outage; past them the node exits (crash-only, recovery repairs), exit code 70. */
  journalFlushAttemptsMax: 4,
  /**
   * How long a journal batch is retried while the database is away (a restart, a failover, a dropped connection);
   * past it the node exits, exit code 70. Meanwhile checkouts wait for their records (bounded by their own deadlines)
   * and new stock work past journalPendingRowsMax answers 429 OVERLOADED.
   */
  journalOutageMsMax: 30_000,
  /** Backoff before journal retry n: base · 2^(n-1), capped (raises no error). */
  journalFlushRetryDelayMsBase: 25,
  /** The backoff's cap (raises no error). */
  journalFlushRetryDelayMsMax: 1_000,
  /** A new database connection not made within this fails the query waiting for it (retried as an outage; raises no error itself). */
  connectTimeoutMs: 5_000,
  /** DB_QUERY_TIMEOUT_MS's default: a query not answered within this fails on the client side (a connection dropped without a reset; retried as an outage, raises no error of its own). */
  queryTimeoutMs: 30_000,
  /** The server cancels a statement running longer than this (SQLSTATE 57014, retried as an outage; raises no error of its own). */
  statementTimeoutMs: 25_000,
  /** TCP keep-alive probes on idle connections start after this (raises no error). */
  keepAliveInitialDelayMs: 10_000,
  /**
   * Journal rows waiting for or in a commit. Past it, new stock work (a new hold, an onHand change) answers 429
   * OVERLOADED before anything is applied, so a slow or stalled database cannot grow the queue without bound; what
   * ends admitted work (pin, commit, release, return, expiry) goes on. Checkout plans (one row per checkout) are
   * bounded by limits.checkoutsInFlightMax instead.
   */
  journalPendingRowsMax: 200_000,
  /** Attempts at a partition claim that meets a concurrent claim; past them the acquire fails (503 MOVE_FAILED). */
  claimAttemptsMax: 3,
  /** Idempotency records per write transaction (raises no error: more wait for the next). */
  idempotencyBatchMax: 1_000,
  /** Carts per write transaction (raises no error: more wait for the next). */
  cartBatchMax: 1_000,
} as const;

/** A node's own housekeeping (src/node): snapshots, compaction, cart cleanup. None of these refuses a request. */
export const nodeLimits = {
  /** A clean stop waits this long at most for its checkouts to finish (raises no error: the next start resumes the rest). */
  closeDrainMs: 10_000,
  /** A SKU is snapshotted every this many events, so recovery reads a snapshot and a short tail (raises no error). */
  snapshotEveryEvents: 1_000,
  /** Snapshots waiting in memory are written this often (raises no error). */
  snapshotFlushIntervalMs: 1_000,
  /** Journal rows covered by snapshots are deleted this often (raises no error). */
  compactIntervalMs: 60_000,
  /** Expired carts are deleted this often (raises no error; an expired cart answers 410 CART_EXPIRED until then). */
  cartCleanupIntervalMs: 60_000,
  /**
   * A node-wide job's lease (the pending-order sweep), renewed before each order it resolves: longer than one order's
   * worst case (three authorization attempts and a void at paymentCallTimeoutMs each). A holder that stops renewing
   * loses it after this (raises no error: the next node's sweep takes over).
   */
  jobLeaseTtlMs: 120_000,
  /** Pinned holds past their deadline are resolved against their saga and order this often, and at start (raises no error). */
  pinnedHoldResolveIntervalMs: 60_000,
  /**
   * Webhook event ids are kept this long to recognise redeliveries (Stripe retries for up to three days), then
   * deleted by the cart-cleanup chore (raises no error: an event redelivered later is handled again, from the
   * provider's state, which changes nothing).
   */
  webhookEventsKeepMs: 30 * 24 * 60 * 60 * 1000,
  /**
   * Promotion usage counts untouched this long are forgotten (reloaded from the database when needed), so the ledger
   * holds the last hour's customers, not the whole sale's; longer than any checkout runs (raises no error).
   */
  promoLedgerIdleMs: 60 * 60 * 1000,
  /** …checked this often (raises no error). */
  promoLedgerEvictIntervalMs: 5 * 60 * 1000,
  /** Idempotency keys and published outbox rows are deleted past their retention this often (raises no error). */
  retentionIntervalMs: 60_000,
  /** Rows one retention delete removes (one short transaction; raises no error). */
  retentionBatchMax: 1_000,
  /** Deletes per table per run; a larger backlog goes at the next runs (raises no error). */
  retentionBatchesPerRunMax: 10,
  /** Published outbox rows are kept this long for consumers to re-read, then deleted (raises no error). */
  outboxPublishedKeepMs: 7 * 24 * 60 * 60 * 1000,
  /** Webhook event ids deleted per chore run; the rest go at the next run (raises no error). */
  webhookEventsPrunePerRunMax: 10_000,
  /**
   * An authorization of a confirmed order older than this is logged and counted for capture: the provider lets it
   * expire after seven days (raises no error).
   */
  authorizationExpiringAgeMs: 6 * 24 * 60 * 60 * 1000,
  /** Open authorizations read per page of a reconciliation's listing (Stripe's search pages hold 100; raises no error). */
  reconcilePageSize: 100,
  /**
   * Pages one reconciliation round reads; a longer listing goes on at the next round, so an orphan is cancelled
   * within ORPHAN_AUTH_MAX_AGE_MS plus one pass of RECONCILE_INTERVAL_MS per this many pages (raises no error).
   */
  reconcilePagesPerRoundMax: 50,
} as const;

/** Cluster mode: placement, forwarding and messages between nodes (src/cluster, src/edge). */
export const clusterLimits = {
  /** Partition count of a database (PARTITIONS above it stops the node, exit 2). */
  partitionsMax: 65_536,
  /** Characters of an acquire's reason; a longer one makes the acquire malformed, refused with no partition loaded (raises no error to a client; an unknown short one counts as `unknown`). */
  acquireReasonLengthMax: 32,
  /** Longest a request waits for a partition in motion or an unknown route (then 503 PARTITION_UNAVAILABLE). */
  routeWaitMs: 5_000,
  /** Requests waiting for routes at once; more get 503 PARTITION_UNAVAILABLE at once. */
  routeWaitersMax: 10_000,
  /** A forwarded HTTP request (a checkout may wait for the payment provider); past it, 503 PARTITION_UNAVAILABLE. */
  forwardTimeoutMs: 30_000,
  /** Inventory, cart and promotion commands to another node, retries included; past it the saga runs again later (503 NOT_READY). */
  inventoryTimeoutMs: 10_000,
  /** Hops of one forwarded request; a request past it gets 503 PARTITION_UNAVAILABLE (the routes disagree). */
  forwardHopsMax: 2,
  /** After an owner did not answer, a command waits this long for a newer route before it tries again (raises no error). */
  staleRouteRetryMs: 250,
  /** A release gives up (503 MOVE_FAILED) when the partition's checkouts have not finished within this. */
  releaseIdleMsMax: 10_000,
  /** Admin operations forwarded to the coordinator (a drain moves many partitions); past it, 503 COORDINATOR_UNAVAILABLE. */
  adminRpcTimeoutMs: 60_000,
  /** Broadcasts (product changes, sold-out gossip) wait this long per peer (raises no error: a peer that misses one is logged). */
  broadcastTimeoutMs: 5_000,
  /** How often a node tells its peers which of its SKUs are sold out (they answer 409 OUT_OF_STOCK from that). */
  soldOutGossipMs: 100,
  /** A peer forgets a sold-out mark it has not heard again for this long (raises no error: it asks the owner). */
  soldOutMarkTtlMs: 500,
  /** SKUs per sold-out message (raises no error: the rest are asked for at their owner). */
  soldOutSkusPerMessageMax: 10_000,
  /** Sold-out marks kept per node (raises no error: the oldest go, and are asked for at their owner). */
  soldOutMarksMax: 100_000,
  /** Promotion usage read from other owners, kept for pricing (raises no error: the oldest entries are read again). */
  remoteUsageEntriesMax: 10_000,
  /** Redis errors are logged at most once per this interval (raises no error: routing keeps serving known routes). */
  redisErrorLogIntervalMs: 5_000,
} as const;

/** The coordinator: assignment, moves, failover (src/cluster/coordinator.ts). */
export const coordinatorLimits = {
  /** How often the coordinator compares the assignment with the ownership rows (raises no error). */
  reconcileIntervalMs: 1_000,
  /** Partitions released and acquired in one step of a move; each step is one pause for those partitions (raises no error). */
  movesPerStep: 128,
  /** A release step not answered within this fails the move (503 MOVE_FAILED). */
  releaseRpcTimeoutMs: 20_000,
  /** An acquire step not answered within this fails the move (503 MOVE_FAILED). */
  acquireRpcTimeoutMs: 60_000,
  /** After a failed move step its partitions wait this long before the next try (raises no error), doubling. */
  moveBackoffMsBase: 2_000,
  /** The backoff's cap (raises no error). */
  moveBackoffMsMax: 60_000,
  /** Reconciles without a change between two republications of PostgreSQL's rows to Redis, ~10 s (raises no error). */
  republishEveryReconciles: 10,
  /** A node's answer to "which partitions do you hold?" not received within this is skipped this round (raises no error). */
  servedRpcTimeoutMs: 2_000,
  /**
   * An owner of record that says it does not hold a partition for this long gets the acquire again (raises no error).
   * Longer than a reconcile, so an acquire or release in flight is never mistaken for a lost partition.
   */
  unservedGraceMs: 3_000,
} as const;

/** The coordinator's lease: a PostgreSQL advisory lock (src/cluster/coordinator-lease.ts). */
export const coordinatorLeaseLimits = {
  /** Lease TTL by default (raises no error). */
  ttlMsDefault: 3_000,
  /** Shorter TTLs turn an event-loop stall into a coordinator change (a RangeError at start: a programming error). */
  ttlMsMin: 300,
  /** Longest TTL (a RangeError at start). */
  ttlMsMax: 60_000,
  /** Heartbeats per TTL: the lease survives two late heartbeats (raises no error). */
  heartbeatsPerTtl: 3,
  /** The holder gives the lease up locally this share of the TTL before the server could (raises no error). */
  localMarginShare: 0.1,
  /** Advisory lock key (classId); the two-int form, so it cannot meet the migrations' one-bigint lock (raises no error). */
  lockClassId: 0x626f78, // "box"
  /** Advisory lock key (objId) by default (raises no error). */
  lockObjIdDefault: 1,
} as const;

/** Membership in Redis (src/cluster/membership.ts). */
export const membershipLimits = {
  /** Default member key TTL: how long a silent node stays listed (raises no error). */
  ttlMsDefault: 2_000,
  /** Shorter TTLs turn a GC pause into a false failover (MEMBER_TTL_MS below it stops the node, exit 2). */
  ttlMsMin: 300,
  /** Longest member TTL (MEMBER_TTL_MS above it stops the node, exit 2). */
  ttlMsMax: 60_000,
  /** Heartbeats per TTL: refreshing every ttl/3 survives two lost heartbeats (raises no error). */
  heartbeatsPerTtl: 3,
  /** NODE_HOST, the address peers reach a node at: a DNS name's length (a longer one stops the node, exit 2). */
  hostLengthMax: 255,
  /** Node ids are short and free of separators, since they are part of Redis keys and owner rows (NODE_ID: exit 2; a route's node: 404 NODE_NOT_FOUND). */
  nodeIdPattern: /^[A-Za-z0-9._-]{1,64}$/,
} as const;

/** The routing table cached from Redis (src/cluster/routing-table.ts). */
export const routingLimits = {
  /** How often a node checks the Redis version against its own: catches lost messages and flushed tables (raises no error). */
  resyncIntervalMsDefault: 5_000,
  /** Shortest resync interval (a RangeError at start: a programming error). */
  resyncIntervalMsMin: 50,
} as const;

/** The Redis client of a cluster node (src/cluster/redis-client.ts). */
export const redisClientLimits = {
  /** A command not answered within this rejects (raises no error to clients: routing serves known routes). */
  commandTimeoutMs: 2_000,
  /** A connection attempt not done within this fails and is retried (raises no error to clients). */
  connectTimeoutMs: 2_000,
  /** Reconnect backoff: this much per failed attempt (raises no error). */
  reconnectDelayMsStep: 50,
  /** The backoff's cap (raises no error). */
  reconnectDelayMsMax: 1_000,
} as const;

/** Node-to-node transport (src/cluster/transport*.ts, peer-*.ts). */
export const transportLimits = {
  /**
   * Largest frame body (msgpack bytes) a side sends or accepts. Sending a larger one rejects that request with
   * FRAME_TOO_LARGE and nothing is written; a larger reply becomes a REPLY_TOO_LARGE error reply; an incoming header
   * announcing a larger frame closes the connection before its bytes are buffered.
   */
  frameBytesMax: 1024 * 1024,
  /** Requests awaiting a reply from one peer; one more rejects at once with IN_FLIGHT_LIMIT (nothing queued). */
  requestsInFlightPerPeerMax: 8_192,
  /**
   * Requests one server connection runs at once; more get an OVERLOADED error reply without running. Above the
   * client's own limit, so only a misconfigured or foreign client meets it.
   */
  requestsInFlightPerConnectionMax: 16_384,
  /** Correlation ids wrap here; in-flight requests are bounded far below, so ids never collide (raises no error). */
  correlationIdsMax: 2 ** 32,
  /** Upper bound on a request's timeout, far below Node's 24.8-day timer wrap (a RangeError: a programming error). */
  requestTimeoutMsMax: 60_000,
  /** A connection attempt that has not completed by then counts as failed: requests get PEER_UNAVAILABLE. */
  connectTimeoutMs: 2_000,
  /** Reconnect backoff: attempt n waits about base · 2^n, capped, with jitter (raises no error; see reconnectDelayMs). */
  reconnectDelayMsBase: 50,
  /** The backoff's cap (raises no error). */
  reconnectDelayMsMax: 2_000,
  /** Graceful close waits this long for running handlers (server) or requests in flight (client), then cuts them: CONNECTION_LOST. */
  closeDrainMsMax: 5_000,
  /** After our FIN, how long to wait for the peer's before destroying the socket (raises no error). */
  closeLingerMs: 1_000,
  /** A connection not authenticated by then is closed (a client's requests get PEER_UNAVAILABLE); counted as an auth failure. */
  handshakeTimeoutMs: 5_000,
  /** Largest frame before a connection is authenticated (a larger one closes it, PEER_UNAVAILABLE for a client). */
  handshakeFrameBytesMax: 1_024,
  /** Connections waiting to authenticate at once; one more closes the oldest, counted as an auth failure (raises no error). */
  unauthenticatedConnectionsMax: 256,
} as const;

/** The `boxoffice` operator CLI (src/cli). */
export const cliLimits = {
  /** --timeout default: a drain of a large node moves many partitions and answers when all have moved (past it: TIMEOUT, exit 3). */
  timeoutMsDefault: 60_000,
  /** Longest --timeout (a longer one is USAGE, exit 2). */
  timeoutMsMax: 3_600_000,
  /** The port in the default URL when neither --url, BOXOFFICE_URL nor PORT is set: a node's default PORT (raises no error). */
  portDefault: 3000,
} as const;

/**
 * The WebSocket API at /ws (src/http/ws, src/edge/topic-hub.ts, src/edge/stock-updates.ts; docs/websocket.md). The
 * WS_* environment variables named beside the first six override them (src/config/ws-settings.ts); close codes are
 * in src/http/ws/ws-errors.ts.
 */
export const wsLimits = {
  /** WS_FRAME_BYTES_MAX: largest frame a client sends; a larger one closes the socket unparsed (close code 1009, or 1006 past twice this, cut by uWS; raises no error frame). */
  frameBytesMax: 64 * 1024,
  /** WS_SUBSCRIPTIONS_MAX: topics one socket is subscribed to at once; one more gets an error frame SUBSCRIPTIONS_LIMIT_EXCEEDED and changes nothing. */
  subscriptionsPerSocketMax: 100,
  /** WS_SOCKETS_PER_IP_MAX: open sockets per client address; one more upgrade is answered 429 OVERLOADED (HTTP, before the upgrade). */
  socketsPerIpMax: 64,
  /** WS_IDLE_TIMEOUT_S: seconds without a frame either way before the socket is closed; the server pings, so only a dead peer meets it (raises no error: uWS closes it, 8 s granularity, at least 8). */
  idleTimeoutS: 120,
  /** WS_COMMANDS_IN_FLIGHT_MAX: commands (cart.add, checkout) one socket has running; one more gets an error frame OVERLOADED with its id and does not run. */
  commandsInFlightPerSocketMax: 16,
  /** WS_SEND_BUFFER_BYTES_MAX: bytes waiting to go to a slow reader; a frame that would pass it closes the socket (close code 4001; raises no error frame, the reader is not reading). One frame always goes to a socket with nothing waiting. */
  sendBufferBytesMax: 1024 * 1024,
  /** Open sockets on one node; one more upgrade is answered 429 OVERLOADED. */
  socketsMax: 100_000,
  /** A request id is a string of at most this many characters, or a safe integer (error frame VALIDATION_FAILED). */
  requestIdLengthMax: 64,
  /** A drop ticket in a subscribe frame is at most this long (error frame VALIDATION_FAILED). */
  ticketLengthMax: 128,
  /** Error frames one socket earns; past it the socket is closed (close code 1008; raises no error frame). */
  errorFramesPerSocketMax: 1_000,
  /** A published update's frame, serialized; a larger one is logged and not delivered (raises no error to the publisher). */
  updateBytesMax: 256 * 1024,
  /** Stock updates of one SKU go out at most once per this many ms: 10 a second (raises no error: the latest count goes out at the end of the interval). */
  stockUpdateIntervalMs: 100,
  /** SKUs whose stock changed within the last interval, tracked for throttling; past it a new SKU's change is not published until one leaves (raises no error). */
  stockSkusTrackedMax: 100_000,
  /** Redis publish failures of the topic hub are logged at most once per this interval (raises no error: the update reaches this node's sockets only). */
  publishErrorLogIntervalMs: 5_000,
} as const;

/** The events relay and outgoing webhooks (issue 12, "Events out"; src/events, docs/events.md). */
export const eventLimits = {
  /** How often the relay looks for undelivered outbox rows of its partitions (raises no error). */
  relayPollMs: 100,
  /** Outbox rows one relay pass reads, delivers and marks (raises no error: the rest go in the next pass). */
  relayBatchMax: 500,
  /** After a failed pass (sink or database down) the relay waits this long, doubling (raises no error). */
  relayRetryDelayMsMin: 100,
  /** The relay's backoff cap (raises no error; the lag metric shows the delay). */
  relayRetryDelayMsMax: 5_000,
  /** MAXLEN ~ of the `<CLUSTER_NAME>:events` stream (raises no error: Redis trims the oldest entries). */
  streamLengthMax: 1_000_000,
  /** Webhook endpoints registered at once (409 WEBHOOK_ENDPOINT_LIMIT_REACHED). */
  webhookEndpointsMax: 100,
  /** Length of a webhook URL (400 VALIDATION_FAILED). */
  webhookUrlLengthMax: 2_048,
  /** Webhook requests in flight on one node (raises no error: due deliveries wait for the next pass). */
  webhookConcurrencyMax: 32,
  /** Webhook requests in flight to one endpoint, so a slow one cannot take every slot (raises no error). */
  webhookPerEndpointConcurrencyMax: 4,
  /** One webhook request's deadline; past it the attempt failed and is retried with backoff (raises no error). */
  webhookRequestTimeoutMs: 10_000,
  /** The retry delay doubles from WEBHOOK_RETRY_DELAY_MS_BASE up to this (raises no error). */
  webhookRetryDelayMsMax: 5 * 60 * 1000,
  /** How often due webhook deliveries are looked for (raises no error). */
  webhookPollMs: 200,
  /** The error kept with a failed delivery is cut to this many characters (raises no error). */
  webhookErrorLengthMax: 300,
  /** Delivered and parked deliveries are kept this long, then deleted by the retention job (raises no error). */
  webhookDeliveryKeepMs: 7 * 24 * 60 * 60 * 1000,
} as const;

/** Drops: the waiting room of a SKU (src/actors/drop-*.ts, docs/drops.md). */
export const dropLimits = {
  /** Buyers in one drop's queue; the next joiner gets 409 DROP_QUEUE_FULL and changes nothing. */
  queueLengthMax: 1_000_000,
  /** Drops at once (rows of `drops`); marking one more SKU gets 409 DROPS_LIMIT_REACHED. */
  dropsMax: 10_000,
  /** customerId of a joiner: 1-64 of A-Z a-z 0-9 . _ : @ - as at checkout (400 VALIDATION_FAILED). */
  customerIdLengthMax: 64,
  /** A ticket id in a path longer than this names nothing (404 TICKET_NOT_FOUND). */
  ticketLengthMax: 64,
  /** Shortest admission window (400 VALIDATION_FAILED): a buyer needs time to pay. */
  admissionTtlMsMin: 5_000,
  /** Longest admission window (400 VALIDATION_FAILED). */
  admissionTtlMsMax: 24 * 60 * 60 * 1000,
  /** Units one customer may buy of one drop, at most (400 VALIDATION_FAILED); the drop's own limit is 409 PURCHASE_LIMIT_REACHED. */
  perCustomerLimitMax: 1_000,
  /** Tokens read from one Admission-Token header (one per drop line); later ones are ignored (403 ADMISSION_REQUIRED if needed). */
  admissionTokensPerCheckoutMax: 50,
  /** An Admission-Token header longer than this is not a token (403 ADMISSION_REQUIRED). */
  admissionTokenLengthMax: 2_048,
  /** How often the SKU's owner admits, expires and notices a sell-out (raises no error). */
  tickMs: 50,
  /** Admissions in one tick; the rest wait for the next one (raises no error). */
  admitsPerTickMax: 5_000,
  /** Joins written in one INSERT; the rest go in the next one (raises no error). */
  joinBatchRowsMax: 5_000,
  /** Open admissions checked per tick for a purchase (raises no error: the rest count as not bought, so fewer are admitted). */
  purchaseRowsPerTickMax: 5_000,
  /** How often every node rereads which SKUs are drops: a new drop is enforced everywhere within this (raises no error). */
  configRefreshMs: 1_000,
} as const;

/** The operator dashboard at /dashboard (src/dashboard, docs/dashboard.md). */
export const dashboardLimits = {
  /** Open dashboard streams per node; the next GET /api/admin/dashboard/stream gets 429 OVERLOADED with Retry-After. */
  streamsMax: 32,
  /** How often every open stream is sent a snapshot, and how often the checkout counters are sampled (raises no error). */
  snapshotIntervalMs: 1_000,
  /**
   * A heartbeat event this often, so a page can tell a live stream from a stalled one, and so the connection is never
   * silent for as long as uWS's HTTP idle timeout (about 10 s) even when snapshots stop (raises no error).
   */
  heartbeatMs: 5_000,
  /** Samples kept of the throughput and p99 series: five minutes at one a second, the oldest dropped (raises no error). */
  rateSamplesMax: 300,
  /** Rows of each list panel (hot SKUs, pending orders, drops, provider errors); the rest are left out (raises no error). */
  panelRowsMax: 20,
  /** A snapshot is built at most this often, whatever the number of pages asking (raises no error: pages share it). */
  snapshotCacheMs: 1_000,
  /** The pending-order and cluster reads of a snapshot wait this long; past it the panel shows its error (raises no error). */
  readTimeoutMs: 2_000,
} as const;

/** Metrics (src/metrics, docs/metrics.md): every label value and tracker is bounded, so a scrape stays small. */
export const metricLimits = {
  /** SKUs with hot-SKU series (boxoffice_hot_sku_*): the top this many by checkout attempts (raises no error). */
  hotSkusTopN: 10,
  /** SKUs the hot-SKU tracker counts at once (a top-k): a new SKU past it evicts the coldest (raises no error). */
  hotSkusTrackedMax: 300,
  /** The hot-SKU window: attempts of the last this many seconds count (raises no error). */
  hotSkuWindowS: 60,
  /** Distinct drop SKUs named in `sku` labels; later ones are counted as `other` (raises no error). */
  dropSkuLabelsMax: 100,
  /** Gauges read from PostgreSQL are read at most this often; scrapes between get the cached values (raises no error). */
  databaseGaugeCacheMs: 5_000,
  /** A gauge query not answered within this is abandoned; the scrape keeps the last values (raises no error). */
  databaseGaugeTimeoutMs: 1_000,
  /** Resolution of the event-loop delay monitor, in ms (raises no error). */
  eventLoopResolutionMs: 10,
  /** The event-loop lag gauges report the last full window of this many ms, rotated by a timer (raises no error). */
  eventLoopWindowMs: 10_000,
} as const;

/** Traces and trace-aware logs (docs/observability.md). */
export const telemetryLimits = {
  /** A `traceparent` header or peer field longer than this is ignored: the request starts a new trace (raises no error). */
  traceparentLengthMax: 128,
  /** A `tracestate` header longer than this is dropped (raises no error; W3C allows 32 members of at most 256 bytes each, but proxies rarely send more than this). */
  tracestateLengthMax: 512,
  /** An `x-correlation-id` longer than this (or not of A-Z a-z 0-9 . _ : -) is replaced by a generated one (raises no error). */
  correlationIdLengthMax: 128,
  /** Links from one journal batch span to the requests whose appends it carries; later appends are not linked (raises no error). */
  batchSpanLinksMax: 128,
  /** Spans queued for export; when full, new spans are dropped by the BatchSpanProcessor (raises no error). */
  exportQueueSpansMax: 2_048,
  /** Spans per OTLP export request (raises no error). */
  exportBatchSpansMax: 512,
  /** How long spans wait before an export starts (raises no error). */
  exportDelayMs: 1_000,
  /** One OTLP export request; past it the batch is dropped, so a receiver that is away cannot hold a node's close (raises no error). */
  exportTimeoutMs: 2_000,
} as const;

/** What an `x-correlation-id` header may hold to be trusted (otherwise one is generated). */
export const correlationIdPattern = new RegExp(`^[A-Za-z0-9._:-]{1,${telemetryLimits.correlationIdLengthMax}}$`);
/** A W3C traceparent: version, trace id, parent span id, flags (lower-case hex); all-zero ids are refused by the propagator. */
export const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
