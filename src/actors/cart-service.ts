import { actorLimits } from '../config/limits.js';
import { fail, type Failure } from '../errors.js';
import { applyPromoCode, checkCartWritable, createCart, markCartCheckedOut, type Cart, type CartResult } from '../domain/cart.js';
import { asCartId } from '../domain/ids.js';
import type { Clock } from '../clock.js';
import { KeyedQueue } from './keyed-queue.js';
import { randomToken } from './random-token.js';

export interface CartSource {
  save(cart: Cart & Record<string, unknown>): Promise<void>;
  get(cartId: string): Promise<object | null>;
}

/**
 * Carts: one change at a time per cart (a promise chain per cart id), each change persisted (batched upsert)
 * before it is answered, so a cart survives a restart. Idle carts expire after the configured idle time.
 */
export class CartService {
  private readonly cache = new Map<string, Cart>();
  private readonly queue = new KeyedQueue();

  constructor(private readonly store: CartSource, private readonly clock: Clock, readonly idleTtlMs: number) {}

  async get(cartId: string): Promise<Cart | null> {
    const cached = this.cache.get(cartId);
    if (cached) return cached;
    const stored = (await this.store.get(cartId)) as Cart | null;
    if (stored) this.remember(stored);
    return stored;
  }

  /**
   * Applies `change` to the cart (a new cart when cartId is null) and persists it. Unknown ids are CART_NOT_FOUND;
   * checked-out and expired carts refuse changes.
   */
  mutate(cartId: string | null, change: (cart: Cart, nowMs: number) => CartResult): Promise<{ ok: true; cart: Cart; created: boolean } | Failure> {
    const id = cartId ?? `cart_${randomToken(16)}`;
    return this.queue.run(id, async () => {
      const nowMs = this.clock.now();
      const current = cartId === null ? createCart(asCartId(id), nowMs, this.idleTtlMs) : await this.get(id);
      if (!current) return fail('CART_NOT_FOUND', { cartId: id });
      const writable = checkCartWritable(current, nowMs);
      if (!writable.ok) return { ...writable, details: { ...writable.details, cartId: id } };
      const next = change(current, nowMs);
      if (!next.ok) return next;
      await this.store.save({ ...next.cart });
      this.remember(next.cart);
      return { ok: true as const, cart: next.cart, created: cartId === null };
    });
  }

  setPromo(cartId: string, code: string | null) {
    return this.mutate(cartId, (cart, nowMs) => ({ ok: true, cart: applyPromoCode(cart, code, nowMs, this.idleTtlMs) }));
  }

  /** After an order: later changes and checkouts of this cart are refused. Idempotent. */
  async markCheckedOut(cartId: string): Promise<void> {
    await this.queue.run(cartId, async () => {
      const cart = await this.get(cartId);
      if (!cart || cart.status === 'checked_out') return;
      const done = markCartCheckedOut(cart, this.clock.now());
      await this.store.save({ ...done });
      this.remember(done);
    });
  }

  /** Drops the cache (carts of partitions that arrived here may have changed under another owner). */
  forgetCached(): void {
    this.cache.clear();
  }

  private remember(cart: Cart): void {
    this.cache.delete(cart.cartId);
    this.cache.set(cart.cartId, cart);
    if (this.cache.size > actorLimits.cartCacheEntriesMax) this.cache.delete(this.cache.keys().next().value!);
  }

}
