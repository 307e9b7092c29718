import type { DropService } from '../../actors/drop-service.js';
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
  if (drops === undefined || !drops.hasDrops()) return inner(req);
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

async function gated(s: NodeServices, drops: DropService, lines: DropLine[], customerId: string | null, key: string, req: HttpRequest, inner: Handler): Promise<HttpResponse> {
  // Bounded: each token costs an HMAC per drop line, and a header can carry thousands.
  const tokens = (req.headers[admissionTokenHeader] ?? '').split(',', dropLimits.admissionTokensPerCheckoutMax).map((t) => t.trim()).filter((t) => t !== '');
  const claimed: string[] = [];
  // A release that fails leaves the units counted: the customer ends under the limit, never over it.
  const giveBack = () => Promise.all(claimed.map((sku) => drops.release(sku, key).catch(() => false)));
  for (const line of lines) {
    const claims = tokens.map((t) => drops.verify(line.sku, t, s.nowMs())).find((c) => c !== null && (customerId === null || c.customerId === customerId));
    if (!claims) {
      // A retry of a checkout that took its units already answers as the checkout does, even once the token expired.
      if (await drops.claimExists(line.sku, key)) continue;
      await giveBack();
      return errorResponse('ADMISSION_REQUIRED', { sku: line.sku });
    }
    const outcome = await drops.claim(line.sku, key, claims.customerId, line.qty);
    if (outcome.t === 'limit') {
      await giveBack();
      return errorResponse('PURCHASE_LIMIT_REACHED', { sku: line.sku, perCustomerLimit: drops.perCustomerLimit(line.sku), bought: outcome.bought });
    }
    if (outcome.t === 'claimed') claimed.push(line.sku);
  }
  const res = await inner(req);
  if (res.status >= 400 && res.status < 500 && claimed.length > 0) await giveBack();
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
