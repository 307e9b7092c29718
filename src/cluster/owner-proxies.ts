import type { Logger } from 'pino';
import type { CartService } from '../actors/cart-service.js';
import type { Catalog } from '../actors/catalog.js';
import type { InventoryHandle } from '../actors/inventory-actor.js';
import type { InventoryRegistry } from '../actors/inventory-registry.js';
import type { PromoLedger, PromoUses } from '../actors/promo-ledger.js';
import { clusterLimits } from '../config/limits.js';
import { cartPartition, checkoutPartition, promoPartition, skuPartition } from '../domain/entities.js';
import type { InventoryCommand, InventoryReply } from '../domain/inventory.js';
import type { PromoUsage, Promotion } from '../domain/promotions.js';
import type { ClusterLink, PeerMessage } from './cluster-link.js';
import { settledWithin, sleepUntil } from './deadline.js';
import { cartMessage, catalogMessage, checkoutRunningMessage, inventoryMessage, promoMessage } from './peer-schemas.js';
import { TransportError } from './transport-error.js';

type InventoryMessage = PeerMessage & { t: 'inv'; sku: string; cmd: InventoryCommand };
type CartMessage = PeerMessage & { t: 'cart.checkedOut'; cartId: string };
type PromoMessage = PeerMessage &
  (
    | { t: 'promo'; op: 'usage'; code: string; customerKey: string }
    | { t: 'promo'; op: 'reserve'; promo: Promotion; customerKey: string }
    | { t: 'promo'; op: 'release' | 'force'; code: string; customerKey: string }
  );
type CatalogMessage = PeerMessage & { t: 'catalog'; skus: string[] };
type CheckoutRunningMessage = PeerMessage & { t: 'checkout.running'; key: string };

/** An owner's answer: `moved` when the partition left it meanwhile (the sender asks the new owner). */
type OwnerReply<T> = { moved: true } | { moved?: false; r: T };

/** What the proxies reach on this node when it owns the entity. */
export interface OwnerProxiesDeps {
  link: ClusterLink;
  inventory: InventoryRegistry;
  carts: CartService;
  /** The ledger of the promotions whose partition this node owns. */
  promos: PromoLedger;
  catalog: Catalog;
  log: Logger;
  /** Whether a checkout of `key` runs on this node (undefined: its partition is not served here). */
  checkoutRunning: (key: string) => boolean | undefined;
}

/**
 * Inventory, carts and promotions wherever their partition is served: here when this node owns it, otherwise on its
 * owner over the cluster link (DESIGN.md, "Nodes talk to each other"). A checkout's saga reserves SKUs wherever they
 * live; every inventory command is idempotent by hold or order id, so a retry after an unknown outcome is safe.
 * This file also serves the other side: the messages peers send to the owner.
 */
export class OwnerProxies {
  private readonly link: ClusterLink;
  /** Usage of promotions owned elsewhere, as last read from their owner (for pricing; the reserve is on the owner). */
  private readonly remoteUsage = new Map<string, PromoUsage>();

  constructor(private readonly deps: OwnerProxiesDeps) {
    this.link = deps.link;
    this.link.onPeerMessage<InventoryMessage>('inv', inventoryMessage, (msg) => this.onInventory(msg));
    this.link.onPeerMessage<CartMessage>('cart.checkedOut', cartMessage, (msg) => this.onCartCheckedOut(msg));
    this.link.onPeerMessage<PromoMessage>('promo', promoMessage, (msg) => this.onPromo(msg));
    this.link.onPeerMessage<CheckoutRunningMessage>('checkout.running', checkoutRunningMessage, async (msg) => {
      if (!(await this.servable(checkoutPartition(msg.key, this.link.partitions)))) return { moved: true };
      const r = deps.checkoutRunning(msg.key);
      return r === undefined ? { moved: true } : { r };
    });
    this.link.onPeerMessage<CatalogMessage>('catalog', catalogMessage, async (msg) => {
      await deps.catalog.reload(msg.skus);
      return { ok: true };
    });
  }

  /** Inventory of `sku`, wherever it is served. */
  inventory(sku: string): InventoryHandle {
    return { ask: (cmd) => this.askInventory(sku, cmd) };
  }

  /**
   * Promotion usage on the node owning each promotion's partition, so total and per-customer limits hold across
   * nodes. A reserve whose outcome is unknown is retried (at worst one use too many is counted: a refusal, never an
   * overrun); a release is sent once (a lost release also errs toward refusing).
   */
  readonly promoUses: PromoUses = {
    prepare: async (code, customerKey) => {
      if (this.owns(promoPartition(code, this.link.partitions))) return this.deps.promos.prepare(code, customerKey);
      const usage = (await this.sendPromo({ t: 'promo', op: 'usage', code, customerKey }, true)) as PromoUsage;
      const k = `${code}\u0000${customerKey}`;
      this.remoteUsage.delete(k);
      this.remoteUsage.set(k, usage);
      if (this.remoteUsage.size > clusterLimits.remoteUsageEntriesMax) this.remoteUsage.delete(this.remoteUsage.keys().next().value!);
    },
    usage: (code, customerKey) =>
      this.owns(promoPartition(code, this.link.partitions)) ? this.deps.promos.usage(code, customerKey) : (this.remoteUsage.get(`${code}\u0000${customerKey}`) ?? { total: 0, byCustomer: 0 }),
    reserve: async (promo, customerKey) => (await this.sendPromo({ t: 'promo', op: 'reserve', promo, customerKey }, true)) as boolean,
    forceReserve: (code, customerKey) => this.fireAndLog(this.sendPromo({ t: 'promo', op: 'force', code, customerKey }, true), 'use'),
    release: (code, customerKey) => this.fireAndLog(this.sendPromo({ t: 'promo', op: 'release', code, customerKey }, false), 'release'),
  };

  /** After an order: the cart is marked on its owner (which serializes the cart's changes). */
  async markCartCheckedOut(cartId: string): Promise<void> {
    const p = cartPartition(cartId, this.link.partitions);
    await this.onOwner(p, { t: 'cart.checkedOut', cartId } satisfies CartMessage, () => this.deps.carts.markCheckedOut(cartId), clusterLimits.inventoryTimeoutMs);
  }

  /** Asked of the node serving the key's partition; null when no owner answered within the bound. */
  async checkoutRunning(key: string): Promise<boolean | null> {
    const local = async (): Promise<boolean | null> => this.deps.checkoutRunning(key) ?? null;
    return this.onOwner(checkoutPartition(key, this.link.partitions), { t: 'checkout.running', key } satisfies CheckoutRunningMessage, local, clusterLimits.inventoryTimeoutMs).catch(() => null);
  }

  /** Tells every live peer that these products changed (they read them again). Waits, bounded. */
  async broadcastProducts(skus: string[]): Promise<void> {
    const catalogMessage: CatalogMessage = { t: 'catalog', skus };
    await Promise.all(
      this.link.peerIds().map((peer) =>
        this.link.request(peer, catalogMessage, clusterLimits.broadcastTimeoutMs).catch((err: unknown) =>
          this.deps.log.warn({ err: (err as Error).message, peer, skus: skus.length }, 'product change not delivered; the peer reads it at its next start'),
        ),
      ),
    );
  }

  private owns(partition: number): boolean {
    return this.link.serves(partition);
  }

  private askInventory(sku: string, cmd: InventoryCommand): Promise<InventoryReply> {
    const p = skuPartition(sku, this.link.partitions);
    // A local reply that failed because the partition just left (a fenced write, a stopped actor) is retried on the
    // new owner, like a remote `moved`.
    return this.onOwner(p, { t: 'inv', sku, cmd } satisfies InventoryMessage, () => this.deps.inventory.get(sku).ask(cmd), clusterLimits.inventoryTimeoutMs, true, (r) => !r.ok && !this.owns(p));
  }

  /** A promotion message runs through the owner's handler, here or on the owner. */
  private sendPromo(msg: PromoMessage, idempotent: boolean): Promise<unknown> {
    const code = msg.op === 'reserve' ? msg.promo.code : msg.code;
    return this.onOwner(promoPartition(code, this.link.partitions), msg, async () => this.onPromo(msg).then((r) => (r as { r: unknown }).r), clusterLimits.inventoryTimeoutMs, idempotent);
  }

  private fireAndLog(p: Promise<unknown>, what: string): void {
    void p.catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, `promotion ${what} not delivered`));
  }

  /**
   * Runs `local` when this node serves `p`, else sends `msg` to the owner; retries through moves and failovers
   * until `timeoutMs`. Only for idempotent messages: a retry may repeat one whose outcome was unknown. Rejects
   * when no owner could be reached (the caller's saga runs again later).
   */
  private async onOwner<T, M extends PeerMessage>(p: number, msg: M, local: () => Promise<T>, timeoutMs: number, idempotent = true, movedAway: (r: T) => boolean = () => false): Promise<T> {
    const clock = this.link.clock;
    const deadlineMs = clock.now() + timeoutMs;
    for (;;) {
      const moving = this.link.motion(p);
      if (moving !== undefined) await settledWithin(moving, Math.max(0, deadlineMs - clock.now()), clock);
      else if (this.owns(p)) {
        const r = await local();
        if (!movedAway(r) || clock.now() >= deadlineMs) return r;
      } else {
        const route = this.link.ownerOf(p);
        if (route !== null && route.nodeId !== this.link.nodeId) {
          try {
            const reply = (await this.link.request(route.nodeId, msg, Math.max(1, deadlineMs - clock.now()))) as OwnerReply<T>;
            if (!reply.moved) return reply.r;
          } catch (err) {
            if (!(err instanceof TransportError)) throw err;
            if (!idempotent && err.outcome !== 'not-delivered') throw err;
          }
        }
        // A stale or missing route: wait for a newer one, or a short while when the owner did not answer. A wait
        // refused at once (the link closing, too many waiters) still waits out its while, on a timer: never a spin.
        const untilMs = Math.min(deadlineMs, clock.now() + clusterLimits.staleRouteRetryMs);
        if (!(await this.link.routeChange(p, route?.epoch ?? 0, untilMs))) await sleepUntil(clock, untilMs);
      }
      if (clock.now() >= deadlineMs) throw new Error(`partition ${p}: no reachable owner within ${timeoutMs} ms`);
    }
  }

  /** Waits (bounded) while `p` is in motion here; true when this node serves it. */
  private async servable(p: number): Promise<boolean> {
    const moving = this.link.motion(p);
    if (moving !== undefined) await settledWithin(moving, clusterLimits.routeWaitMs, this.link.clock);
    return this.owns(p);
  }

  private async onInventory(msg: InventoryMessage): Promise<OwnerReply<InventoryReply>> {
    const p = skuPartition(msg.sku, this.link.partitions);
    if (!(await this.servable(p))) return { moved: true };
    const r = await this.deps.inventory.get(msg.sku).ask(msg.cmd);
    return !r.ok && !this.owns(p) ? { moved: true } : { r };
  }

  private async onCartCheckedOut(msg: CartMessage): Promise<OwnerReply<null>> {
    if (!(await this.servable(cartPartition(msg.cartId, this.link.partitions)))) return { moved: true };
    await this.deps.carts.markCheckedOut(msg.cartId);
    return { r: null };
  }

  private async onPromo(msg: PromoMessage): Promise<OwnerReply<unknown>> {
    if (!(await this.servable(promoPartition(msg.op === 'reserve' ? msg.promo.code : msg.code, this.link.partitions)))) return { moved: true };
    const ledger = this.deps.promos;
    switch (msg.op) {
      case 'usage':
        await ledger.prepare(msg.code, msg.customerKey);
        return { r: ledger.usage(msg.code, msg.customerKey) };
      case 'reserve':
        return { r: await ledger.reserve(msg.promo, msg.customerKey) };
      case 'force':
        ledger.forceReserve(msg.code, msg.customerKey);
        return { r: null };
      case 'release':
        ledger.release(msg.code, msg.customerKey);
        return { r: null };
    }
  }
}
