import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { clusterLimits, limits, membershipLimits, persistenceLimits } from './limits.js';
import { loadTracingSettings, type TracingSettings } from './tracing-settings.js';
import { loadWsSettings, type WsSettings } from './ws-settings.js';

/**
 * Configuration comes from environment variables only, validated once at start. A bad value stops the node with a
 * message naming the variable, what it got and what it expects (ConfigError), before anything listens or writes.
 */
export interface Config {
  /** PORT, default 3000: the HTTP/WebSocket port. */
  port: number;
  /** HOST, default 0.0.0.0: the address HTTP listens on. */
  host: string;
  /** DATABASE_URL, default unset: embedded PostgreSQL (PGlite) stored under DATA_DIR. */
  databaseUrl: string | null;
  /** DATA_DIR, default ./data: where PGlite keeps its files when DATABASE_URL is unset. */
  dataDir: string;
  /** REDIS_URL, default unset: in-process routing, this node owns every partition. Set: cluster mode (needs DATABASE_URL). */
  redisUrl: string | null;
  /** ADMIN_TOKEN, default generated at start and printed once: required by admin routes. */
  adminToken: string;
  adminTokenGenerated: boolean;
  /** PAYMENT_PROVIDER, default simulated: `simulated` (Stripe's test vocabulary, in memory) or `stripe`. */
  paymentProvider: 'simulated' | 'stripe';
  /**
   * With PAYMENT_PROVIDER=stripe: STRIPE_API_KEY (required), STRIPE_WEBHOOK_SECRET (required: the signing secret of
   * the webhook endpoint) and STRIPE_API_BASE (optional: a Stripe-compatible server's base URL). Null otherwise.
   */
  stripe: { apiKey: string; webhookSecret: string; apiBase: URL | null } | null;
  /**
   * BOXOFFICE_TEST_KILL_AFTER_STEP (tests only; unset in production): the node kills itself with SIGKILL as soon as
   * the first checkout saga completes this step (reserve, authorize, pin, order or commit), so crash tests can stop
   * it at an exact point. Null when unset.
   */
  testKillAfterStep: 'reserve' | 'authorize' | 'pin' | 'order' | 'commit' | null;
  /** RECONCILE_INTERVAL_MS, default 60000: how often payments are reconciled with the provider (orphans, expiries). */
  reconcileIntervalMs: number;
  /** ORPHAN_AUTH_MAX_AGE_MS, default 120000: an authorization without an order is voided once this old. */
  orphanAuthMaxAgeMs: number;
  /** HOLD_TTL_MS, default 600000 (10 min): how long a hold lives before it expires. */
  holdTtlMs: number;
  /** CART_TTL_MS, default 86400000 (24 h): idle time after which a cart expires. */
  cartIdleTtlMs: number;
  /** LOG_LEVEL, default info: pino level (fatal, error, warn, info, debug, trace, silent). */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * CLUSTER_SECRET (required with REDIS_URL, at least 32 characters): the shared key every node-to-node connection
   * proves with an HMAC challenge-response before anything it sends is executed. Null without REDIS_URL.
   */
  clusterSecret: string | null;
  /** NODE_ID, default node-1: this node's name in partition_owners. */
  nodeId: string;
  /** PARTITIONS, default 1024: the partition count; the database records it on first start and keeps it. */
  partitions: number;
  /** JOURNAL_BATCH_ROWS, default 5000; JOURNAL_BATCH_DELAY_MS, default 0 (next event-loop turn): group commit. */
  journalBatchRowsMax: number;
  journalBatchDelayMs: number;
  /**
   * IDEMPOTENCY_RETENTION_MS, default 172800000 (48 h), at least 24 h: a key's stored answer is kept this long (a
   * retry within it replays the answer), then deleted by the retention job; known keys rotate over it too.
   */
  idempotencyRetentionMs: number;
  /** DB_QUERY_TIMEOUT_MS, default 30000: a PostgreSQL query not answered within this fails and is retried (an outage). */
  dbQueryTimeoutMs: number;
  /** DB_POOL_SIZE, default 10: PostgreSQL connections (pg driver only). */
  dbPoolSize: number;
  /** SIM_PAYMENT_LATENCY_MS, default 0: latency of the simulated provider (bench and tests). */
  simPaymentLatencyMs: number;
  /** SWEEP_INTERVAL_MS, default 5000: how often pending orders are swept and interrupted restocks finished. */
  sweepIntervalMs: number;
  /** PASSIVATE_IDLE_MS, default 30000: an idle SKU without holds keeps only its counts after this long. */
  passivateIdleMs: number;
  /** CHECKOUTS_IN_FLIGHT_MAX, default 20000 (1 to 1,000,000): past it new checkouts answer 429 OVERLOADED with Retry-After. */
  checkoutsInFlightMax: number;
  /** NODE_HOST, default 127.0.0.1: the inter-node address this node advertises (cluster mode). */
  nodeHost: string;
  /** NODE_PORT, default 0 (a free port, advertised): the inter-node TCP port (cluster mode). */
  nodePort: number;
  /**
   * NODE_ADVERTISE_PORT, default 0 (advertise the port listened on): the inter-node port the other nodes are told
   * to connect to, when something between them forwards it to NODE_PORT (a port mapping, a proxy).
   */
  nodeAdvertisePort: number;
  /** CLUSTER_NAME, default boxoffice: prefix of the cluster's Redis keys, so clusters can share one Redis. */
  clusterName: string;
  /** MEMBER_TTL_MS, default 1500: a node silent this long is taken as dead and its partitions fail over. */
  memberTtlMs: number;
  /** WS_*: the WebSocket API's limits operators may change (src/config/ws-settings.ts, docs/websocket.md). */
  ws: WsSettings;
  /** OTEL_*: trace export (src/config/tracing-settings.ts, docs/observability.md). */
  tracing: TracingSettings;
  /**
   * EVENTS_SINK, default `redis` with REDIS_URL and `log` without: where the relay sends every order event besides the
   * webhooks (`redis`: XADD to the `<CLUSTER_NAME>:events` stream, needs REDIS_URL; `log`: one info line each; `none`).
   */
  eventsSink: 'redis' | 'log' | 'none';
  /** WEBHOOK_RETRY_DELAY_MS_BASE, default 1000: a failed webhook delivery's first retry delay, doubling (jittered). */
  webhookRetryDelayMsBase: number;
  /** WEBHOOK_RETRY_MAX_AGE_MS, default 86400000 (24 h): a delivery still failing this long after its first try is parked. */
  webhookRetryMaxAgeMs: number;
}

export class ConfigError extends Error {}

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const schema = z.object({
  PORT: int(0, 65535).default('3000'),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://…').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected redis://…').optional(),
  ADMIN_TOKEN: z.string().min(16, 'expected at least 16 characters').max(256).optional(),
  PAYMENT_PROVIDER: z.enum(['simulated', 'stripe']).default('simulated'),
  STRIPE_API_KEY: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,247}$/, 'expected a Stripe secret or restricted key (sk_test_…, sk_live_…)').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9_+/=]{8,256}$/, "expected the endpoint's signing secret (whsec_…)").optional(),
  STRIPE_API_BASE: z
    .string()
    .regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, 'expected http(s)://host[:port] of a Stripe-compatible server')
    .optional(),
  BOXOFFICE_TEST_KILL_AFTER_STEP: z.enum(['reserve', 'authorize', 'pin', 'order', 'commit']).optional(),
  RECONCILE_INTERVAL_MS: int(1_000, 86_400_000).default('60000'),
  ORPHAN_AUTH_MAX_AGE_MS: int(60_000, 7 * 86_400_000).default('120000'),
  HOLD_TTL_MS: int(limits.holdTtlMsMin, limits.holdTtlMsMax).default('600000'),
  CART_TTL_MS: int(60_000, 30 * 24 * 3600 * 1000).default('86400000'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CLUSTER_SECRET: z.string().min(32, 'expected at least 32 characters (e.g. `openssl rand -base64 32`)').max(1_024).optional(),
  NODE_ID: z.string().regex(membershipLimits.nodeIdPattern, 'expected 1-64 of A-Z a-z 0-9 . _ -').default('node-1'),
  PARTITIONS: int(1, clusterLimits.partitionsMax).default('1024'),
  JOURNAL_BATCH_ROWS: int(1, limits.journalBatchRowsMax).default(String(limits.journalBatchRowsMax)),
  JOURNAL_BATCH_DELAY_MS: int(0, limits.journalBatchDelayMsMax).default('0'),
  DB_POOL_SIZE: int(1, 200).default('10'),
  IDEMPOTENCY_RETENTION_MS: int(86_400_000, 30 * 86_400_000).default('172800000'),
  DB_QUERY_TIMEOUT_MS: int(2_000, 300_000).default(String(persistenceLimits.queryTimeoutMs)),
  SIM_PAYMENT_LATENCY_MS: int(0, 60_000).default('0'),
  SWEEP_INTERVAL_MS: int(100, 3_600_000).default('5000'),
  PASSIVATE_IDLE_MS: int(1_000, 86_400_000).default('30000'),
  CHECKOUTS_IN_FLIGHT_MAX: int(1, 1_000_000).default(String(limits.checkoutsInFlightMax)),
  NODE_HOST: z.string().min(1).max(membershipLimits.hostLengthMax).default('127.0.0.1'),
  NODE_PORT: int(0, 65535).default('0'),
  NODE_ADVERTISE_PORT: int(0, 65535).default('0'),
  CLUSTER_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -').default('boxoffice'),
  MEMBER_TTL_MS: int(membershipLimits.ttlMsMin, membershipLimits.ttlMsMax).default('1500'),
  EVENTS_SINK: z.enum(['redis', 'log', 'none']).optional(),
  WEBHOOK_RETRY_DELAY_MS_BASE: int(1, 3_600_000).default('1000'),
  WEBHOOK_RETRY_MAX_AGE_MS: int(1, 30 * 86_400_000).default('86400000'),
});

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `${name}=${JSON.stringify(env[name])}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  const ws = loadWsSettings(env);
  if (!ws.ok) throw new ConfigError(`invalid configuration:\n  ${ws.problems.join('\n  ')}`);
  const tracing = loadTracingSettings(env);
  if (!tracing.ok) throw new ConfigError(`invalid configuration:\n  ${tracing.problems.join('\n  ')}`);
  if (e.REDIS_URL !== undefined && e.DATABASE_URL === undefined) {
    throw new ConfigError('REDIS_URL is set (cluster mode) but DATABASE_URL is not: the nodes of a cluster share one PostgreSQL server');
  }
  if (e.REDIS_URL !== undefined && e.CLUSTER_SECRET === undefined) {
    throw new ConfigError('REDIS_URL is set (cluster mode) but CLUSTER_SECRET is not: nodes authenticate each other with it (at least 32 characters, the same on every node)');
  }
  if (e.EVENTS_SINK === 'redis' && e.REDIS_URL === undefined) throw new ConfigError('EVENTS_SINK=redis needs REDIS_URL (the stream lives in Redis)');
  if (e.PAYMENT_PROVIDER === 'stripe') {
    const missing = (['STRIPE_API_KEY', 'STRIPE_WEBHOOK_SECRET'] as const).filter((name) => e[name] === undefined);
    if (missing.length > 0) throw new ConfigError(`PAYMENT_PROVIDER=stripe needs ${missing.join(' and ')}`);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL ?? null,
    adminToken: e.ADMIN_TOKEN ?? randomBytes(24).toString('base64url'),
    adminTokenGenerated: e.ADMIN_TOKEN === undefined,
    paymentProvider: e.PAYMENT_PROVIDER,
    stripe: e.PAYMENT_PROVIDER === 'stripe' ? { apiKey: e.STRIPE_API_KEY!, webhookSecret: e.STRIPE_WEBHOOK_SECRET!, apiBase: e.STRIPE_API_BASE ? new URL(e.STRIPE_API_BASE) : null } : null,
    testKillAfterStep: e.BOXOFFICE_TEST_KILL_AFTER_STEP ?? null,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    orphanAuthMaxAgeMs: e.ORPHAN_AUTH_MAX_AGE_MS,
    holdTtlMs: e.HOLD_TTL_MS,
    cartIdleTtlMs: e.CART_TTL_MS,
    logLevel: e.LOG_LEVEL,
    clusterSecret: e.REDIS_URL === undefined ? null : e.CLUSTER_SECRET!,
    nodeId: e.NODE_ID,
    partitions: e.PARTITIONS,
    journalBatchRowsMax: e.JOURNAL_BATCH_ROWS,
    journalBatchDelayMs: e.JOURNAL_BATCH_DELAY_MS,
    dbPoolSize: e.DB_POOL_SIZE,
    idempotencyRetentionMs: e.IDEMPOTENCY_RETENTION_MS,
    dbQueryTimeoutMs: e.DB_QUERY_TIMEOUT_MS,
    simPaymentLatencyMs: e.SIM_PAYMENT_LATENCY_MS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    passivateIdleMs: e.PASSIVATE_IDLE_MS,
    checkoutsInFlightMax: e.CHECKOUTS_IN_FLIGHT_MAX,
    nodeHost: e.NODE_HOST,
    nodePort: e.NODE_PORT,
    nodeAdvertisePort: e.NODE_ADVERTISE_PORT,
    clusterName: e.CLUSTER_NAME,
    memberTtlMs: e.MEMBER_TTL_MS,
    ws: ws.settings,
    tracing: tracing.settings,
    eventsSink: e.EVENTS_SINK ?? (e.REDIS_URL === undefined ? 'log' : 'redis'),
    webhookRetryDelayMsBase: e.WEBHOOK_RETRY_DELAY_MS_BASE,
    webhookRetryMaxAgeMs: e.WEBHOOK_RETRY_MAX_AGE_MS,
  };
}
