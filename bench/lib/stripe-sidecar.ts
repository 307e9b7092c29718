import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { stripeServerLimits, type StripeServerLimits } from '../../test/stripe-server/limits.js';
import { benchLimits } from './bench-limits.js';
import { assertNotInterrupted, trackChild } from './child-processes.js';
import { withTimeout } from './load-client.js';
import type { RunningSidecar, Sidecar, SidecarAudit } from './sidecar.js';
import { auditStripe, type OrderPaymentRow } from './stripe-audit.js';
import type { StripeParentMessage, StripeWorkerMessage } from './stripe-protocol.js';

/**
 * flash-hot's Stripe variant: the Stripe test server (test/stripe-server) as the run's sidecar, in a process of its
 * own (bench/lib/stripe-server-worker.ts), and the settings that point boxoffice's Stripe adapter at it
 * (PAYMENT_PROVIDER=stripe, STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE). After the load settled it audits
 * the test server's PaymentIntents against the run's orders (bench/lib/stripe-audit.ts).
 *
 * Why a process of its own: on a 2-core machine the node, PostgreSQL, the load worker and the test server share the
 * cores, and the harness must stay responsive (its sold-out poll, progress lines and checks). In its own process the
 * test server never shares an event loop with the harness, and the OS spreads it, the node and the load worker over
 * both cores. It runs at the same priority as the node (niceness stripeServerNiceness, 0): the test server stands in
 * for Stripe, whose capacity a checkout should not wait for. A niced test server (+10: two quick commands alternating
 * with two at 0 on this machine, while other work kept it busy) gave no clear throughput difference but starved the
 * test server, so payments queued there: order p99 of the Stripe runs 0.6, 2.6, 4.9 and 1.5 s at +10 against 0.8,
 * 0.8, 0.9 and 1.0 s at 0. Its CPU during the sale is recorded next to the node's, so what it takes from the node stays visible.
 */
export const stripeServerNiceness = 0;

/** The test server's stores, sized for a sale of `stock` units so no limit of a test-suite size binds in a bench run. */
export function stripeServerLimitsFor(stock: number): Partial<StripeServerLimits> {
  // At most one authorization per checkout that held a unit; twice the stock leaves room for compensated ones.
  const intents = Math.max(stripeServerLimits.paymentIntentsMax, 2 * stock + 1_000);
  return {
    paymentIntentsMax: intents,
    idempotencyEntriesMax: Math.max(stripeServerLimits.idempotencyEntriesMax, intents),
    // created and amount_capturable_updated per authorization, canceled for a voided one: the audit reads every
    // payment_intent.created event, so none may be forgotten.
    webhookEventsMax: Math.max(stripeServerLimits.webhookEventsMax, 3 * intents),
    callsMax: Math.max(stripeServerLimits.callsMax, intents),
  };
}

export function stripeSidecar(o: { latencyMs: number; stock: number }): Sidecar {
  return { name: 'stripe test server', start: () => startStripeSidecar(o.latencyMs, o.stock) };
}

async function startStripeSidecar(latencyMs: number, stock: number): Promise<RunningSidecar> {
  assertNotInterrupted();
  const child = trackChild(fork(join(__dirname, 'stripe-server-worker.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const inbox = new Inbox(child);
  const niceness = setNiceness(child);
  let listening: Extract<StripeWorkerMessage, { type: 'listening' }>;
  try {
    send(child, { type: 'start', latencyMs, limits: stripeServerLimitsFor(stock) });
    listening = await withTimeout(inbox.next('listening'), benchLimits.stripeServerStartMsMax, 'stripe test server start (stripeServerStartMsMax)');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const pid = child.pid ?? -1;
  return {
    name: 'stripe test server',
    pid,
    serverEnv: {
      PAYMENT_PROVIDER: 'stripe',
      STRIPE_API_KEY: listening.apiKey,
      // Required by boxoffice with the Stripe adapter; no webhook is sent in the bench (the test server records them).
      STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('hex')}`,
      STRIPE_API_BASE: listening.url,
    },
    secretEnvNames: ['STRIPE_API_KEY', 'STRIPE_WEBHOOK_SECRET'],
    describe: () => `pid ${pid}, ${listening.url}, latency ${latencyMs} ms, ${niceness === null ? 'priority unchanged (setPriority failed)' : `niceness ${niceness}`}`,
    audit: (databaseUrl) => audit(inbox, child, databaseUrl),
    stop: () => stop(child),
  };
}

async function audit(inbox: Inbox, child: ChildProcess, databaseUrl: string): Promise<SidecarAudit> {
  try {
    send(child, { type: 'audit' });
    const { report } = await withTimeout(inbox.next('report'), benchLimits.stripeServerReportMsMax, 'stripe test server report (stripeServerReportMsMax)');
    return auditStripe(report, await orderPayments(databaseUrl));
  } catch (err) {
    return { checks: [{ name: 'stripe: audit of the test server ran', ok: false, detail: (err as Error).message }], metrics: {}, notes: [] };
  }
}

/** Every order with its payment rows (an order without one: a row of nulls). */
async function orderPayments(databaseUrl: string): Promise<OrderPaymentRow[]> {
  const db = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: benchLimits.sqlStatementMsMax, query_timeout: benchLimits.sqlStatementMsMax });
  db.on('error', () => {});
  try {
    await db.connect();
    const r = await db.query<{ order_id: string; status: string; total: string; currency: string; provider: string | null; auth_id: string | null; amount: string | null }>(
      'SELECT o.order_id, o.status, o.total::text, o.currency, p.provider, p.auth_id, p.amount::text FROM orders o LEFT JOIN payments p USING (order_id)',
    );
    return r.rows.map((row) => ({
      orderId: row.order_id,
      orderStatus: row.status,
      totalMinor: Number(row.total),
      currency: row.currency,
      provider: row.provider,
      authId: row.auth_id,
      amountMinor: row.amount === null ? null : Number(row.amount),
    }));
  } finally {
    await db.end().catch(() => {});
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    send(child, { type: 'stop' });
    await withTimeout(exited, benchLimits.serverStopMsMax, 'stripe test server stop (serverStopMsMax)');
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}

/** stripeServerNiceness for the test server (see above); null when the OS refused. */
function setNiceness(child: ChildProcess): number | null {
  try {
    setPriority(child.pid ?? 0, stripeServerNiceness);
    return stripeServerNiceness;
  } catch {
    return null;
  }
}

function send(child: ChildProcess, msg: StripeParentMessage): void {
  if (!child.connected) throw new Error('stripe test server process is gone');
  child.send(msg);
}

/** The worker's messages, each awaited by type; a failure or an exit rejects whatever is awaited. */
class Inbox {
  private readonly waiting = new Map<string, { resolve(m: StripeWorkerMessage): void; reject(e: Error): void }>();
  private gone: Error | null = null;

  constructor(child: ChildProcess) {
    child.on('message', (msg: StripeWorkerMessage) => {
      if (msg.type === 'failed') this.fail(new Error(`stripe test server failed: ${msg.error}`));
      else this.waiting.get(msg.type)?.resolve(msg);
    });
    child.on('error', (err) => this.fail(err));
    child.on('exit', (code, signal) => this.fail(new Error(`stripe test server exited (code ${code}, signal ${signal})`)));
  }

  next<T extends StripeWorkerMessage['type']>(type: T): Promise<Extract<StripeWorkerMessage, { type: T }>> {
    if (this.gone) return Promise.reject(this.gone);
    return new Promise((resolve, reject) => {
      this.waiting.set(type, {
        resolve: (m) => {
          this.waiting.delete(type);
          resolve(m as Extract<StripeWorkerMessage, { type: T }>);
        },
        reject,
      });
    });
  }

  private fail(err: Error): void {
    this.gone ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
