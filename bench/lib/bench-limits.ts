/**
 * Every bound the bench harness puts on waiting, batching and sampling, in one place (STYLE.md habit 5). A run that
 * hits one of these is reported with the limit's name rather than hanging; units are in the names.
 */
export const benchLimits = {
  /** A server (boxoffice or a contender) must answer ready within this, or the run reports it could not start. */
  serverStartMsMax: 60_000,
  /** After SIGTERM a server gets this long to close before SIGKILL. */
  serverStopMsMax: 10_000,
  /** Lines of a server's stderr/stdout kept to explain a failed start or a failed run. */
  serverLogLinesKept: 40,
  /** Any single control-plane HTTP call of the harness (setup, polls, checks, /metrics). */
  httpCallMsMax: 30_000,
  /** One catalog import request: the route accepts at most this many items. */
  catalogBatchItemsMax: 10_000,
  /** CREATE/DROP DATABASE and every other admin SQL statement. */
  sqlStatementMsMax: 60_000,
  /** PostgreSQL and Redis must answer the preflight within this. */
  preflightMsMax: 5_000,
  /** The load worker must report ready (autocannon started) within this. */
  workerStartMsMax: 15_000,
  /** After being told to stop, the load worker must hand back its summary within this, or it is killed. */
  workerStopMsMax: 20_000,
  /** One request of the load generator; longer counts as a timeout (an error in the checks). */
  loadRequestTimeoutSeconds: 30,
  /** Inventory poll interval while waiting for a sell-out (the issue asks for once a second). */
  soldOutPollMs: 1_000,
  /** After the load stops, inventory is polled until two reads agree (in-flight requests settled), bounded. */
  quiesceMsMax: 15_000,
  quiescePollMs: 500,
  /**
   * SKUs read back through GET /api/inventory in the checks (all of the catalog scenario's 100,000; the memory
   * scenario passes a sample). boxoffice's database check covers exactly the SKUs read back.
   */
  inventoryCheckSkusMax: 100_000,
  /** Parallel GET /api/inventory calls of the checks. */
  inventoryCheckParallel: 32,
  /** Bins of a load's fine-grained timeline (LoadSummary.timeline): 6,000 bins of 100 ms cover 10 minutes. */
  loadTimelineBinsMax: 6_000,
  /** Nodes of a bench cluster (the scale scenario starts 2). */
  clusterNodesMax: 16,
  /**
   * After every node of a bench cluster answered /readyz, each node's GET /api/admin/cluster must show every member
   * with partitions, none unowned and one coordinator within this, or the run reports the cluster did not settle.
   */
  clusterSettleMsMax: 60_000,
  clusterSettlePollMs: 100,
  /** …and those views must stay the same for this long (a routes update can trail the ownership counts). */
  clusterSettleStableMs: 500,
  /** Inventory poll interval while waiting for the middle of a sale (the scale scenario's partition move). */
  midSalePollMs: 50,
  /** Latency histogram range: values above this are clamped (and reported as the max). */
  latencyMicrosMax: 120_000_000,
  /** flash-hot's Stripe test server process must report it listens within this. */
  stripeServerStartMsMax: 15_000,
  /** …and hand back its report of what it holds (every PaymentIntent, every creation event) within this. */
  stripeServerReportMsMax: 60_000,
  /** git and other small commands the harness runs for the result header. */
  commandMsMax: 5_000,
} as const;
