import { mulberry32 } from '../../src/payments/mulberry32.js';
import { createZipfSampler, type ZipfSampler } from './zipf.js';

/**
 * What one load connection sends, as a small state machine per connection. The load worker asks `next()` for the
 * request to send and feeds every answer to `onResponse`; a request that never got an answer (timeout, dropped
 * connection) is noticed on the following `next()` and the sequence starts over from a clean state.
 *
 * Workloads are plain data so the parent can ship them to the load worker over IPC and store them in the results.
 */
export type WorkloadSpec =
  /** Buy-now checkouts of one SKU, each with a fresh Idempotency-Key (flash-hot, soldout-storm). */
  | { kind: 'buy-now'; sku: string; qty: number }
  /** The same GET over and over (the `hello` reference server of soldout-storm). */
  | { kind: 'get'; path: string }
  /** Reserve then release on one SKU: POST hold, DELETE that hold, repeat (holds). */
  | { kind: 'holds'; sku: string; qty: number; adminToken: string }
  /** Carts of cartItemsMin…cartItemsMax Zipf-picked SKUs, added one by one, then a checkout by cartId (catalog). */
  | { kind: 'cart-checkout'; skuCount: number; zipfExponent: number; cartItemsMin: number; cartItemsMax: number; seed: number };

export interface OutgoingRequest {
  /** What the request does, for counting and latency by operation ('checkout', 'hold', …). */
  op: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface ConnectionSequence {
  next(): OutgoingRequest;
  onResponse(status: number, body: string): void;
  /** The operation of the request whose answer arrived last (read right after onResponse). */
  readonly answeredOp: string;
}

/** The catalog scenario's SKU names: deterministic from the rank, so the worker needs only the count. */
export const catalogSku = (rank: number): string => `CAT-${String(rank).padStart(7, '0')}`;

/** The shipping address of every bench checkout: a US/NY address every server prices the same way. */
export const benchAddress = { name: 'Bench Buyer', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' };
export const benchPaymentMethod = 'pm_card_visa';

const json = { 'content-type': 'application/json' };

export interface SequenceContext {
  connectionIndex: number;
  /** Unique per load run: keeps Idempotency-Keys unique across runs against the same database. */
  runTag: string;
  /** Built once per worker and shared by its connections (the catalog CDF is 800 KB). */
  zipf?: ZipfSampler;
}

export function createSequence(spec: WorkloadSpec, ctx: SequenceContext): ConnectionSequence {
  switch (spec.kind) {
    case 'buy-now':
      return buyNowSequence(spec, ctx);
    case 'get':
      return constantSequence({ op: 'get', method: 'GET', path: spec.path, headers: {} });
    case 'holds':
      return holdsSequence(spec);
    case 'cart-checkout':
      return cartCheckoutSequence(spec, ctx);
  }
}

/** The Zipf sampler a worker builds once for a cart-checkout workload (undefined for the others). */
export function samplerFor(spec: WorkloadSpec): ZipfSampler | undefined {
  return spec.kind === 'cart-checkout' ? createZipfSampler(spec.skuCount, spec.zipfExponent) : undefined;
}

function idempotencyKeys(ctx: SequenceContext): () => string {
  let n = 0;
  return () => `${ctx.runTag}-${ctx.connectionIndex}-${n++}`;
}

function constantSequence(request: OutgoingRequest): ConnectionSequence {
  return { next: () => request, onResponse: () => {}, answeredOp: request.op };
}

function buyNowSequence(spec: { sku: string; qty: number }, ctx: SequenceContext): ConnectionSequence {
  const nextKey = idempotencyKeys(ctx);
  const body = JSON.stringify({ items: [{ sku: spec.sku, qty: spec.qty }], paymentMethod: benchPaymentMethod, address: benchAddress });
  return {
    next: () => ({ op: 'checkout', method: 'POST', path: '/api/checkout', headers: { ...json, 'idempotency-key': nextKey() }, body }),
    onResponse: () => {},
    answeredOp: 'checkout',
  };
}

function holdsSequence(spec: { sku: string; qty: number; adminToken: string }): ConnectionSequence {
  const auth = { authorization: `Bearer ${spec.adminToken}` };
  const base = `/api/inventory/${encodeURIComponent(spec.sku)}/holds`;
  const holdBody = JSON.stringify({ qty: spec.qty });
  let holdId: string | null = null;
  let inFlight: 'hold' | 'release' | null = null;
  const seq = {
    answeredOp: 'hold',
    next(): OutgoingRequest {
      // An unanswered request (timeout, reconnect) leaves us unsure of the hold: start over with a new one.
      if (inFlight !== null) holdId = null;
      if (holdId === null) {
        inFlight = 'hold';
        return { op: 'hold', method: 'POST', path: base, headers: { ...json, ...auth }, body: holdBody };
      }
      inFlight = 'release';
      return { op: 'release', method: 'DELETE', path: `${base}/${encodeURIComponent(holdId)}`, headers: auth };
    },
    onResponse(status: number, body: string): void {
      seq.answeredOp = inFlight ?? 'hold';
      if (inFlight === 'hold' && status === 201) holdId = stringField(body, 'holdId');
      else holdId = null;
      inFlight = null;
    },
  };
  return seq;
}

function cartCheckoutSequence(
  spec: Extract<WorkloadSpec, { kind: 'cart-checkout' }>,
  ctx: SequenceContext,
): ConnectionSequence {
  if (!ctx.zipf) throw new Error('cart-checkout needs the worker to build a Zipf sampler first');
  const zipf = ctx.zipf;
  // Each connection has its own stream derived from the run's seed, so runs replay and connections differ.
  const rng = mulberry32((spec.seed ^ Math.imul(ctx.connectionIndex + 1, 0x9e3779b1)) >>> 0);
  const nextKey = idempotencyKeys(ctx);
  const drawCartSize = () => spec.cartItemsMin + Math.floor(rng() * (spec.cartItemsMax - spec.cartItemsMin + 1));
  let cartId: string | null = null;
  let added = 0;
  let target = drawCartSize();
  let inFlight: 'cart-add' | 'checkout' | null = null;
  const restart = () => {
    cartId = null;
    added = 0;
    target = drawCartSize();
  };
  const seq = {
    answeredOp: 'cart-add',
    next(): OutgoingRequest {
      if (inFlight !== null) restart();
      if (cartId !== null && added >= target) {
        inFlight = 'checkout';
        const body = JSON.stringify({ cartId, paymentMethod: benchPaymentMethod, address: benchAddress });
        return { op: 'checkout', method: 'POST', path: '/api/checkout', headers: { ...json, 'idempotency-key': nextKey() }, body };
      }
      inFlight = 'cart-add';
      const sku = catalogSku(zipf.sample(rng) + 1);
      const body = JSON.stringify(cartId === null ? { sku, qty: 1 } : { cartId, sku, qty: 1 });
      return { op: 'cart-add', method: 'POST', path: '/api/cart/items', headers: json, body };
    },
    onResponse(status: number, body: string): void {
      seq.answeredOp = inFlight ?? 'cart-add';
      const op = inFlight;
      inFlight = null;
      if (op === 'checkout') return restart();
      if (status === 201) {
        cartId = stringField(body, 'cartId');
        added = cartId === null ? 0 : 1;
      } else if (status === 200 && cartId !== null) {
        added += 1;
      } else {
        // A refused line (404, 409, 429, …) abandons the cart, as a shopper would; the next request starts anew.
        restart();
      }
    },
  };
  return seq;
}

/** A top-level string field of a JSON body, or null when the body is not JSON or lacks it. */
function stringField(body: string, field: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    const value = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[field] : undefined;
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}
