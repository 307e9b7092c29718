import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import pino, { type Logger } from 'pino';
import { limits } from '../../src/config/limits.js';
import { adminGuard } from '../../src/http/auth.js';
import type { Handler, HttpRequest, HttpResponse } from '../../src/http/request.js';
import { Router } from '../../src/http/router.js';
import { startHttpServer } from '../../src/http/server.js';
import type { PaymentProvider } from '../../src/payments/provider.js';
import { SimulatedPaymentProvider } from '../../src/payments/simulated-provider.js';
import { postCartItem } from './carts.js';
import { postCatalog, ProductCatalog } from './catalog.js';
import { postCheckout, type CheckoutDeps } from './checkout.js';
import { openBenchPool, prepareSchema } from './db.js';
import { startHello } from './hello.js';
import { deleteHold, getInventory, postHold, Tally } from './holds.js';
import { IdempotencyKeys } from './idempotency.js';
import { createPgStock } from './pg-stock.js';
import { createRedisStock } from './redis-stock.js';
import type { StockBackend } from './stock-backend.js';

/**
 * The bench's contenders: the usual ways to sell one hot SKU, behind boxoffice's own HTTP layer (server.ts, router,
 * validation, error catalogue), answering the same requests with the same responses and writing the same order rows.
 * Only how stock is taken differs (stock-backend.ts). `hello` is a bare uWebSockets.js app, the ceiling for
 * sold-out storms.
 *
 *   node dist/bench/contenders/server.js --kind <pg-conditional|pg-for-update|redis-lua|hello> --port <n>
 *
 * Environment: DATABASE_URL (required but for hello), REDIS_URL (redis-lua; default redis://127.0.0.1:6379),
 * REDIS_KEY_PREFIX (default ''), DB_POOL_SIZE (default 32), SIM_PAYMENT_LATENCY_MS (default 0), ADMIN_TOKEN (default:
 * generated and printed on stderr), LOG_LEVEL (default info; logs go to stderr). Prints `listening <port>` on stdout
 * once it answers.
 */
export const contenderKinds = ['pg-conditional', 'pg-for-update', 'redis-lua', 'hello'] as const;
export type ContenderKind = (typeof contenderKinds)[number];

export interface ContenderOptions {
  kind: ContenderKind;
  /** 0 lets the OS pick a free port (tests). */
  port: number;
  host?: string;
  databaseUrl?: string;
  /** Default redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** Prepended to every Redis key, so runs can share one Redis. Default ''. */
  redisKeyPrefix?: string;
  /** Default 32. */
  dbPoolSize?: number;
  /** Simulated provider latency per call; default 0. Ignored when `payments` is given. */
  paymentLatencyMs?: number;
  payments?: PaymentProvider;
  /** Required by the admin routes; default generated (see RunningContender.adminToken). */
  adminToken?: string;
  logger?: Logger;
  /** How often expired holds are given back. Default 1,000 ms. */
  sweepIntervalMs?: number;
}

export interface RunningContender {
  kind: ContenderKind;
  port: number;
  adminToken: string;
  close(): Promise<void>;
}

export async function startContender(opts: ContenderOptions): Promise<RunningContender> {
  const adminToken = opts.adminToken ?? randomBytes(24).toString('base64url');
  if (opts.kind === 'hello') {
    const hello = await startHello(opts.port, opts.host);
    return { kind: opts.kind, port: hello.port, adminToken, close: async () => hello.close() };
  }
  if (!opts.databaseUrl) throw new Error(`DATABASE_URL is required for --kind ${opts.kind}`);
  const log = opts.logger ?? pino({ level: 'info' }, pino.destination(2));
  await prepareSchema(opts.databaseUrl);
  const pool = await openBenchPool(opts.databaseUrl, opts.dbPoolSize ?? 32);
  let stock: StockBackend | undefined;
  try {
    stock = await openStock(opts, pool);
    return await serve(opts, { pool, stock, log, adminToken });
  } catch (err) {
    await stock?.close();
    await pool.end();
    throw err;
  }
}

interface Opened {
  pool: Pool;
  stock: StockBackend;
  log: Logger;
  adminToken: string;
}

/** Loads the catalog, routes, listens and sweeps; close() undoes it in reverse. */
async function serve(opts: ContenderOptions, { pool, stock, log, adminToken }: Opened): Promise<RunningContender> {
  const catalog = new ProductCatalog();
  await catalog.load(pool);
  const nowMs = () => Date.now();
  const tally = new Tally(stock);
  const payments = opts.payments ?? new SimulatedPaymentProvider({ latencyMs: opts.paymentLatencyMs ?? 0 });
  const checkout: CheckoutDeps = { pool, stock, catalog, keys: new IdempotencyKeys(pool), payments, log, nowMs, onSold: (lines) => tally.sold(lines) };
  const inFlight = new InFlight();
  const router = contenderRouter(inFlight, adminGuard(adminToken), checkout, tally);
  const http = await startHttpServer({ port: opts.port, ...(opts.host ? { host: opts.host } : {}), router, logger: log, bodyBytesMax: limits.bodyBytesMax });
  const sweeper = startSweeper(stock, tally, log, opts.sweepIntervalMs ?? 1_000);
  return {
    kind: opts.kind,
    port: http.port,
    adminToken,
    async close() {
      // Stop listening first, then let the handlers already running finish their SQL before the pool goes away.
      http.close();
      await inFlight.idle(closeDrainMsMax);
      await sweeper.stop();
      await stock.close();
      await pool.end();
    },
  };
}

/** The routes boxoffice serves for these purposes, at the same paths with the same admin rule (see the header). */
function contenderRouter(inFlight: InFlight, guard: (req: HttpRequest) => HttpResponse | null, d: CheckoutDeps, tally: Tally): Router {
  const admin = (h: Handler): Handler => (req) => guard(req) ?? h(req);
  const holdDeps = { catalog: d.catalog, stock: d.stock, tally, nowMs: d.nowMs };
  // Imported stock replaces the old: the held/sold tally of those SKUs is read afresh when next needed.
  const importCatalog = postCatalog(d.pool, d.catalog, d.stock, (skus) => tally.forget(skus));
  return new TrackedRouter(inFlight)
    .add('GET', '/healthz', () => ({ status: 200, body: { status: 'ok' } }))
    .add('GET', '/readyz', () => ({ status: 200, body: { ready: true } }))
    .add('POST', '/api/admin/catalog', admin(importCatalog), { bodyBytesMax: limits.bulkBodyBytesMax })
    .add('GET', '/api/inventory/:sku', getInventory(holdDeps))
    .add('POST', '/api/inventory/:sku/holds', admin(postHold(holdDeps)))
    .add('DELETE', '/api/inventory/:sku/holds/:holdId', admin(deleteHold(holdDeps)))
    .add('POST', '/api/cart/items', postCartItem(d.pool, d.catalog, d.nowMs))
    .add('POST', '/api/checkout', postCheckout(d));
}

/** How long close() waits for running handlers; after it, their SQL fails and they answer 500 to no one. */
const closeDrainMsMax = 10_000;

/** Counts running handlers, so close() can wait for them. */
class InFlight {
  private running = 0;
  private onIdle: (() => void) | null = null;

  track(h: Handler): Handler {
    return async (req) => {
      this.running++;
      try {
        return await h(req);
      } finally {
        if (--this.running === 0) this.onIdle?.();
      }
    };
  }

  idle(msMax: number): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, msMax);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** A Router whose every handler is tracked by `inFlight`. */
class TrackedRouter extends Router {
  constructor(private readonly inFlight: InFlight) {
    super();
  }

  override add(method: string, pattern: string, handler: Handler, opts?: Parameters<Router['add']>[3]): this {
    return super.add(method, pattern, this.inFlight.track(handler), opts);
  }
}

function openStock(opts: ContenderOptions, pool: Pool): Promise<StockBackend> {
  switch (opts.kind) {
    case 'pg-conditional':
      return Promise.resolve(createPgStock(pool, 'conditional'));
    case 'pg-for-update':
      return Promise.resolve(createPgStock(pool, 'for-update'));
    case 'redis-lua':
      return createRedisStock(pool, { redisUrl: opts.redisUrl ?? 'redis://127.0.0.1:6379', keyPrefix: opts.redisKeyPrefix ?? '' });
    case 'hello':
      throw new Error('hello has no stock');
  }
}

/** Gives expired holds back on an interval; one sweep at a time, and close() waits for the running one. */
function startSweeper(stock: StockBackend, tally: Tally, log: Logger, intervalMs: number) {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running !== null) return;
    running = stock
      .sweepExpired()
      .then((released) => {
        for (const r of released) tally.held(r.sku, -r.qty);
      })
      .catch((err: unknown) => log.error({ err }, 'sweeping expired holds failed'))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}

/** The CLI: flags and environment as documented above. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kind: { type: 'string' }, port: { type: 'string', default: '0' } }, strict: true });
  const kind = values.kind as ContenderKind;
  if (!contenderKinds.includes(kind)) throw new Error(`--kind must be one of ${contenderKinds.join(', ')}, got ${values.kind}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be 0-65535, got ${values.port}`);
  const env = process.env;
  const intEnv = (name: string, fallback: number): number => {
    const raw = env[name];
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
    return n;
  };
  const adminToken = env['ADMIN_TOKEN'] || undefined;
  const running = await startContender({
    kind,
    port,
    databaseUrl: env['DATABASE_URL'],
    redisUrl: env['REDIS_URL'] || undefined,
    redisKeyPrefix: env['REDIS_KEY_PREFIX'] ?? '',
    dbPoolSize: intEnv('DB_POOL_SIZE', 32),
    paymentLatencyMs: intEnv('SIM_PAYMENT_LATENCY_MS', 0),
    adminToken,
    logger: pino({ level: env['LOG_LEVEL'] ?? 'info' }, pino.destination(2)),
  });
  if (adminToken === undefined && kind !== 'hello') process.stderr.write(`contender: ADMIN_TOKEN was not set; generated one for this run: ${running.adminToken}\n`);
  const stop = (): void => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`listening ${running.port}\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`contender failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
