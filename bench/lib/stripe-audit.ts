import { keySource } from '../../test/stripe-server/wire-log.js';
import { formatNumber } from './markdown.js';
import type { Check } from './run-record.js';
import type { SidecarAudit } from './sidecar.js';
import type { IntentRecord, StripeServerReport } from './stripe-protocol.js';

/**
 * What the Stripe test server holds after a flash-hot run with boxoffice's Stripe adapter, checked against the run's
 * orders (DESIGN.md "Money, exactly once"). Pure: the report comes from the test server process, the orders from the
 * run's database; a violation is a failed check, so the run is FAILED and the command exits 1.
 */
export interface OrderPaymentRow {
  orderId: string;
  orderStatus: string;
  totalMinor: number;
  currency: string;
  /** The payment row's provider and authorization; null when the order has no payment row. */
  provider: string | null;
  authId: string | null;
  amountMinor: number | null;
}

/** How many examples a failed check's detail names. */
const examplesMax = 3;

export function auditStripe(report: StripeServerReport, orders: OrderPaymentRow[]): SidecarAudit {
  const referenced = new Set(orders.flatMap((o) => (o.authId === null ? [] : [o.authId])));
  const orphans = report.intents.filter((pi) => pi.status === 'requires_capture' && !referenced.has(pi.id));
  return {
    checks: [onePerKey(report), onePerCheckout(report.intents), confirmedOrdersAuthorized(report.intents, orders)],
    metrics: {
      stripePaymentIntents: report.intents.length,
      stripeRequests: report.callsTotal,
      stripeReplays: report.replayed,
      stripeAuthorizationsWithoutOrder: orphans.length,
    },
    notes: [
      `stripe test server: ${formatNumber(report.intents.length)} PaymentIntents (${countsText(tally(report.intents.map((pi) => pi.status)))}); ${formatNumber(report.callsTotal)} requests (${countsText(report.calls)}); ${formatNumber(report.replayed)} idempotent replays.`,
      // Not a check: reconciliation voids an authorization without an order only once it is ORPHAN_AUTH_MAX_AGE_MS
      // old, which a bench run never reaches; one here is a checkout that authorized and then did not write its order.
      `stripe: ${formatNumber(orphans.length)} PaymentIntents in requires_capture that no order names${orphans.length > 0 ? `, e.g. ${orphans.slice(0, examplesMax).map((pi) => pi.id).join(', ')}` : ''}.`,
    ],
  };
}

/**
 * One Idempotency-Key → at most one PaymentIntent. Each PaymentIntent's key comes from its payment_intent.created
 * event; one without that event, or created under a key that is not boxoffice's own (none, or the SDK's generated
 * `stripe-node-retry-…`), cannot be held to the rule and fails it too.
 */
function onePerKey(report: StripeServerReport): Check {
  const name = 'stripe: at most one PaymentIntent per idempotency key';
  const keyOf = new Map(report.creations.map((c) => [c.intentId, c.idempotencyKey]));
  const unknown = report.intents.filter((pi) => !keyOf.has(pi.id));
  const foreign = report.intents.filter((pi) => keyOf.has(pi.id) && keySource(keyOf.get(pi.id) ?? null) !== 'caller');
  const byKey = groupBy(report.intents.filter((pi) => keySource(keyOf.get(pi.id) ?? null) === 'caller'), (pi) => keyOf.get(pi.id)!);
  const repeated = [...byKey].filter(([, pis]) => pis.length > 1);
  const problems = [
    ...(repeated.length > 0 ? [`${repeated.length} keys with more than one, e.g. ${repeated.slice(0, examplesMax).map(([k, pis]) => `${k} → ${pis.map((pi) => pi.id).join(', ')}`).join('; ')}`] : []),
    ...(unknown.length > 0 ? [`${unknown.length} without a payment_intent.created event, e.g. ${ids(unknown)}`] : []),
    ...(foreign.length > 0 ? [`${foreign.length} created without boxoffice's own key, e.g. ${ids(foreign)}`] : []),
  ];
  const detail = `${formatNumber(report.intents.length)} PaymentIntents under ${formatNumber(byKey.size)} keys`;
  return { name, ok: problems.length === 0, detail: problems.length === 0 ? `${detail}; none repeated` : `${detail}: ${problems.join('; ')}` };
}

/** The same rule seen from the metadata: one checkout, at most one authorization. */
function onePerCheckout(intents: IntentRecord[]): Check {
  const name = 'stripe: at most one PaymentIntent per checkout (metadata checkout_id)';
  const unnamed = intents.filter((pi) => pi.checkoutId === null);
  const byCheckout = groupBy(intents.filter((pi) => pi.checkoutId !== null), (pi) => pi.checkoutId!);
  const repeated = [...byCheckout].filter(([, pis]) => pis.length > 1);
  const problems = [
    ...(repeated.length > 0 ? [`${repeated.length} checkouts with more than one, e.g. ${repeated.slice(0, examplesMax).map(([c, pis]) => `${c} → ${pis.map((pi) => pi.id).join(', ')}`).join('; ')}`] : []),
    ...(unnamed.length > 0 ? [`${unnamed.length} without checkout_id metadata, e.g. ${ids(unnamed)}`] : []),
  ];
  const detail = `${formatNumber(byCheckout.size)} checkouts`;
  return { name, ok: problems.length === 0, detail: problems.length === 0 ? `${detail}; none with two` : `${detail}: ${problems.join('; ')}` };
}

/** Every confirmed order names a Stripe authorization that exists, waits for capture, and is for the order's total. */
function confirmedOrdersAuthorized(intents: IntentRecord[], orders: OrderPaymentRow[]): Check {
  const name = 'stripe: every confirmed order has a PaymentIntent in requires_capture';
  const byId = new Map(intents.map((pi) => [pi.id, pi]));
  const confirmed = groupBy(orders.filter((o) => o.orderStatus === 'confirmed'), (o) => o.orderId);
  const problems: Record<string, string[]> = {};
  const note = (kind: string, orderId: string) => (problems[kind] ??= []).push(orderId);
  for (const [orderId, rows] of confirmed) {
    const stripeRows = rows.filter((r) => r.provider === 'stripe' && r.authId !== null);
    if (stripeRows.length === 0) {
      note('no Stripe authorization on its payment row', orderId);
      continue;
    }
    const pis = stripeRows.map((r) => ({ row: r, pi: byId.get(r.authId!) }));
    if (pis.every(({ pi }) => pi === undefined)) note('PaymentIntent unknown to the test server', orderId);
    else if (!pis.some(({ pi }) => pi?.status === 'requires_capture')) note(`PaymentIntent in ${pis.map(({ pi }) => pi?.status ?? 'nothing').join('/')}`, orderId);
    else if (!pis.some(({ row, pi }) => pi?.status === 'requires_capture' && pi.amountMinor === row.totalMinor && pi.currency.toLowerCase() === row.currency.toLowerCase())) {
      note('PaymentIntent for another amount or currency than the order', orderId);
    }
  }
  const failed = Object.entries(problems);
  const detail = `${formatNumber(confirmed.size)} confirmed orders`;
  if (failed.length === 0) return { name, ok: true, detail: `${detail}, each with its PaymentIntent in requires_capture for its total` };
  return { name, ok: false, detail: `${detail}: ${failed.map(([kind, orderIds]) => `${orderIds.length} ${kind} (e.g. ${orderIds.slice(0, examplesMax).join(', ')})`).join('; ')}` };
}

/** `<method> <path> <status>` with object ids in the path replaced by `:id`, so calls group by endpoint. */
export function callKey(method: string, path: string, status: number | null): string {
  return `${method} ${path.replace(/\/(pi|ch|re|pm)_[A-Za-z0-9]+/g, '/:id')} ${status ?? 'none'}`;
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

const countsText = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ×${formatNumber(n)}`)
    .join(', ') || 'none';

const ids = (pis: IntentRecord[]): string => pis.slice(0, examplesMax).map((pi) => pi.id).join(', ');
