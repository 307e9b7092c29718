import { startStripeTestServer, type StripeTestServer } from '../../test/stripe-server/server.js';
import { callKey } from './stripe-audit.js';
import type { StartStripeServer, StripeParentMessage, StripeServerReport, StripeWorkerMessage } from './stripe-protocol.js';

/**
 * The Stripe test server (test/stripe-server) as a process of its own, for flash-hot's Stripe variant: forked by
 * bench/lib/stripe-sidecar.ts, it starts the server on a free port when told, reports what the server holds when
 * asked (after the load settled), and closes it when told to stop. It exits as soon as the parent goes away: a test
 * server must never outlive the run that started it.
 */
const send = (msg: StripeWorkerMessage, then?: () => void): void => {
  if (!process.send) throw new Error('stripe-server-worker must be started with child_process.fork (no IPC channel)');
  process.send(msg, undefined, {}, () => then?.());
};

let server: StripeTestServer | null = null;

process.on('disconnect', () => process.exit(1));
process.on('message', (msg: StripeParentMessage) => {
  handle(msg).catch((err: unknown) => send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1)));
});

async function handle(msg: StripeParentMessage): Promise<void> {
  if (msg.type === 'start') {
    if (server) throw new Error('stripe test server already started');
    server = await start(msg);
    send({ type: 'listening', url: server.url, apiKey: server.apiKey });
  } else if (msg.type === 'audit') {
    if (!server) throw new Error('audit before start');
    send({ type: 'report', report: report(server) });
  } else if (msg.type === 'stop') {
    await server?.close();
    process.exit(0);
  }
}

function start(msg: StartStripeServer): Promise<StripeTestServer> {
  // Webhooks are recorded but not sent (no endpoint): the run measures the adapter's API calls, and the audit reads
  // each PaymentIntent's creating key from its payment_intent.created event.
  return startStripeTestServer({ latencyMs: msg.latencyMs, limits: msg.limits });
}

function report(s: StripeTestServer): StripeServerReport {
  const intents = s.paymentIntents().map((pi) => ({
    id: pi.id,
    status: pi.status,
    amountMinor: pi.amount,
    currency: pi.currency,
    checkoutId: pi.metadata?.['checkout_id'] ?? null,
  }));
  const creations = s
    .webhookEvents()
    .filter((e) => e.type === 'payment_intent.created')
    .map((e) => ({ intentId: (e.data.object as { id: string }).id, idempotencyKey: e.request?.idempotency_key ?? null }));
  const calls: Record<string, number> = {};
  let replayed = 0;
  for (const c of s.calls) {
    const key = callKey(c.method, c.path, c.status);
    calls[key] = (calls[key] ?? 0) + 1;
    if (c.replayed) replayed += 1;
  }
  return { intents, creations, calls, callsTotal: s.calls.at(-1)?.seq ?? 0, replayed };
}
