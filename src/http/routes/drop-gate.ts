import type { DropService } from '../../actors/drop-service.js';
import type { ClaimOutcome, DropClaim } from '../../persistence/drop-store.js';
import type { AdmissionClaims } from '../../domain/admission-token.js';
import { dropLimits } from '../../config/limits.js';
import { mergeLines } from '../../domain/checkout.js';
import { isTransientDbError } from '../../persistence/db-errors.js';
import { errorResponse } from '../error-response.js';
import type { Handler, HttpRequest, HttpResponse } from '../request.js';
import type { NodeServices } from '../services.js';
import { parseCheckout } from './checkout-request.js';

/** The header an admitted buyer's checkout carries its token in (several, one per drop SKU, comma-separated). */
export const admissionTokenHeader = 'admission-token';

type DropLine = { sku: string; qty: number };

/**
 * POST /api/checkout of a drop SKU (docs/drops.md), on the node running the checkout (its key's owner): each drop
 * line needs a valid admission token for the SKU and the checkout's customer (else 403 ADMISSION_REQUIRED), then
 * takes its units of the customer's limit in PostgreSQL, once per Idempotency-Key (else 409 PURCHASE_LIMIT_REACHED).
 * A checkout refused with a 4xx gives the units back; one whose outcome may still change (201, 202, 5xx) keeps them,
 * so a customer is never over the limit (a crash in between may leave one under it).
 * Checkouts without a drop SKU pass through untouched.
 */
export const dropGate = (s: NodeServices, inner: Handler): Handler => (req) => {
  const drops = s.drops;
  if (drops === undefined) return inner(req);
  // Forwarded checkouts skip the readiness gate: until the drops are read, none can be told whether it buys one.
  if (!drops.isLoaded()) return errorResponse('NOT_READY', { reason: 'the drops are being read; retry' }, { 'retry-after': '1' });
  if (!drops.hasDrops()) return inner(req);
  const parsed = parseCheckout(req, s.checkout.inFlight(), s.checkout.inFlightMax);
  if (!parsed.ok) return parsed.response;
  const r = parsed.request;
  if (r.items !== null) {
    const lines = mergeLines(r.items).filter((l) => drops.isDrop(l.sku));
    return lines.length === 0 ? inner(req) : dbUnavailableAs503(gated(s, drops, lines, r.customerId, parsed.key, req, inner));
  }
  return dbUnavailableAs503(s.carts.get(r.cartId!).then((cart) => {
    const lines = (cart?.lines ?? []).filter((l) => drops.isDrop(l.sku)).map((l) => ({ sku: l.sku as string, qty: l.qty }));
    return lines.length === 0 ? inner(req) : gated(s, drops, lines, r.customerId, parsed.key, req, inner);
  }));
};

/**
 * PostgreSQL away (an outage, a restart): the claim could not be read or written, so nothing was sold; the buyer
 * retries (503 with Retry-After, as every checkout answers then), never a 500.
 */
export function dbUnavailableAs503(p: Promise<HttpResponse>): Promise<HttpResponse> {
  return p.catch((err: unknown) => {
    if (!isTransientDbError(err)) throw err;
    return errorResponse('PARTITION_UNAVAILABLE', { reason: 'the database did not answer; retry' }, { 'retry-after': '1' });
  });
}

/**
 * Answers that leave a checkout's key free with nothing sold: the units it claimed go back. Not the refusals that
 * mean another request of the same key runs or ran (409 IDEMPOTENCY_KEY_IN_USE, 422 IDEMPOTENCY_KEY_REUSED) or that
 * nothing was tried yet (429): that other request may be selling the units this one claimed.
 */
const keepsClaims = new Set(['IDEMPOTENCY_KEY_IN_USE', 'IDEMPOTENCY_KEY_REUSED', 'OVERLOADED']);
const givesClaimsBack = (res: HttpResponse): boolean =>
  res.status >= 400 && res.status < 500 && !keepsClaims.has(((res.body as { error?: { code?: string } } | undefined)?.error?.code) ?? '');

async function gated(s: NodeServices, drops: DropService, lines: DropLine[], customerId: string | null, key: string, req: HttpRequest, inner: Handler): Promise<HttpResponse> {
  // The token is bound to a customer: the checkout names that customer, and its order and limit are theirs.
  if (customerId === null) return errorResponse('ADMISSION_REQUIRED', { sku: lines[0]!.sku, reason: 'a checkout of a drop names its customerId, the customer its admission token was given to' });
  // Bounded: each token costs an HMAC per drop line, and a header can carry thousands.
  const tokens = (req.headers[admissionTokenHeader] ?? '').split(',', dropLimits.admissionTokensPerCheckoutMax).map((t) => t.trim()).filter((t) => t !== '');
  const claimed: string[] = [];
  // A release that fails leaves the units counted: the customer ends under the limit, never over it.
  const giveBack = () => Promise.all(claimed.map((sku) => drops.release(sku, key).catch(() => false)));
  for (const line of lines) {
    // A retry of a checkout that took its units already runs again, even once the token expired: but only the same
    // checkout (customer and quantity), or a key whose first try failed would buy any quantity without a token.
    // With a valid token the claim itself says whether the key claimed before (one transaction); without one, only a
    // key that did may go on.
    const token: AdmissionClaims | null | undefined = tokens.map((t) => drops.verify(line.sku, t, s.nowMs())).find((c) => c !== null && c.customerId === customerId);
    const prior: DropClaim | null = token ? null : await drops.claimOf(line.sku, key);
    if (!token && prior === null) {
      await giveBack();
      return errorResponse('ADMISSION_REQUIRED', { sku: line.sku });
    }
    const outcome: ClaimOutcome = prior === null ? await drops.claim(line.sku, key, customerId, line.qty) : { t: 'existing', ...prior };
    if (outcome.t === 'limit') {
      await giveBack();
      return errorResponse('PURCHASE_LIMIT_REACHED', { sku: line.sku, perCustomerLimit: drops.perCustomerLimit(line.sku), bought: outcome.bought });
    }
    if (outcome.t === 'existing' && (outcome.customerId !== customerId || outcome.qty !== line.qty)) {
      await giveBack();
      return errorResponse('IDEMPOTENCY_KEY_REUSED', { sku: line.sku, reason: 'this Idempotency-Key claimed a drop for another customer or quantity' });
    }
    if (outcome.t === 'claimed') claimed.push(line.sku);
  }
  const res = await inner(req);
  if (claimed.length > 0 && givesClaimsBack(res)) await giveBack();
  return res;
}

/**
 * POST and PATCH /api/cart/items: a drop SKU is bought with `items` and its token, never from a cart (a cart that
 * held it before it became a drop can still have it removed: PATCH with qty 0).
 */
export const noDropsInCarts = (s: NodeServices, inner: Handler): Handler => (req) => {
  const body = req.body as { sku?: unknown; qty?: unknown } | undefined;
  const sku = body?.sku;
  if (typeof sku === 'string' && body?.qty !== 0 && s.drops?.isDrop(sku)) return errorResponse('ADMISSION_REQUIRED', { sku, reason: 'a drop SKU is bought with items and an Admission-Token, not from a cart' });
  return inner(req);
};
