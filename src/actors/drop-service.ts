import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import { dropLimits } from '../config/limits.js';
import { verifyAdmission, type AdmissionClaims } from '../domain/admission-token.js';
import { fail, type Failure } from '../errors.js';
import type { ClaimOutcome, DropClaim, DropRow, DropStore } from '../persistence/drop-store.js';
import { DropRoom, type DropPublisher, type RoomDeps, type TicketView } from './drop-room.js';
import { randomToken } from './random-token.js';

export type { DropPublisher, TicketView } from './drop-room.js';

export interface DropSettings {
  sku: string;
  startsAtMs: number;
  perCustomerLimit: number;
  admissionTtlMs: number;
}

/** GET /api/drops/:sku. */
export interface DropView {
  sku: string;
  startsAt: string;
  state: 'scheduled' | 'open' | 'sold_out';
  queued: number;
  admitted: number;
  sold: number;
  remaining: number;
  shuffleSeed: string | null;
}

export interface DropServiceOptions extends Omit<RoomDeps, 'newTicketId' | 'newSeed' | 'publish'> {
  /** Whether this node serves the SKU's partition now: its rooms live here, and only here. */
  owns(sku: string): boolean;
  publish?: DropPublisher;
}

/**
 * Drops on one node (docs/drops.md). Every node knows which SKUs are drops and their token keys (reread every
 * configRefreshMs), so any node checks an admission token and claims a purchase, in PostgreSQL, where it runs the
 * checkout. The queue of a drop lives on the node owning the SKU's partition (its routes are forwarded there, like
 * every `:sku` route): a DropRoom loaded from the tables on first use, stepped every tickMs, dropped when the
 * partition leaves (the next owner loads it again from the tables).
 */
export class DropService {
  private configs = new Map<string, DropRow>();
  private readonly rooms = new Map<string, Promise<DropRoom>>();
  /** Each room once loaded, by its promise (read synchronously by the metrics). */
  private readonly loadedRooms = new WeakMap<Promise<DropRoom>, DropRoom>();
  private readonly timers = new Map<string, TimerHandle>();
  private stopped = false;
  private loaded = false;
  private readonly deps: RoomDeps;

  constructor(private readonly o: DropServiceOptions) {
    this.deps = {
      ...o,
      publish: (sku, ticket, data) => {
        try {
          o.publish?.(sku, ticket, data);
        } catch (err) {
          o.log.warn({ err, sku }, 'drop publisher threw; the poll still answers');
        }
      },
      newTicketId: () => `tk_${randomToken(16)}`,
      newSeed: () => randomBytes(32).toString('hex'),
    };
  }

  async start(): Promise<void> {
    await this.refresh();
    this.loaded = true;
    this.arm('tick', dropLimits.tickMs, () => this.tick());
    this.arm('refresh', dropLimits.configRefreshMs, () => this.refresh());
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
  }

  /** Whether checkouts of this SKU need an admission token (as far as this node knows: see configRefreshMs). */
  isDrop(sku: string): boolean {
    return this.configs.has(sku);
  }

  /** Whether the drops were read once: before that, no checkout can be told whether it buys a drop. */
  isLoaded(): boolean {
    return this.loaded;
  }

  hasDrops(): boolean {
    return this.configs.size > 0;
  }

  async put(s: DropSettings): Promise<DropRow | Failure> {
    const r = await this.o.store.put({ ...s, tokenKey: randomBytes(32).toString('hex') }, dropLimits.dropsMax);
    if (r === 'full') return fail('DROPS_LIMIT_REACHED', { max: dropLimits.dropsMax });
    if (r === null) return fail('DROP_STARTED', { sku: s.sku });
    this.configs.set(r.sku, r);
    const room = this.rooms.get(r.sku);
    if (room) void room.then((x) => (x.config = { ...x.config, startsAtMs: r.startsAtMs, perCustomerLimit: r.perCustomerLimit, admissionTtlMs: r.admissionTtlMs }), () => undefined);
    return r;
  }

  /** The drop's room here (the owner), or DROP_NOT_FOUND. */
  async room(sku: string): Promise<DropRoom | Failure> {
    let room = this.rooms.get(sku);
    if (room === undefined) {
      const config = this.configs.get(sku) ?? (await this.o.store.get(sku));
      if (config === null) return fail('DROP_NOT_FOUND', { sku });
      this.configs.set(sku, config);
      const loading = this.rooms.get(sku) ?? DropRoom.load(config, this.deps);
      this.rooms.set(sku, loading);
      loading.then((r) => this.loadedRooms.set(loading, r), () => this.rooms.delete(sku));
      room = loading;
    }
    return room;
  }

  view(room: DropRoom): DropView {
    const now = this.o.clock.now();
    const c = this.o.counts(room.sku) ?? { available: 0, held: 0, sold: 0, onHand: 0 };
    const state = now < room.config.startsAtMs ? 'scheduled' : room.soldOut ? 'sold_out' : 'open';
    return {
      sku: room.sku,
      startsAt: new Date(room.config.startsAtMs).toISOString(),
      state,
      queued: room.queued,
      admitted: room.admittedCount,
      sold: c.sold,
      remaining: c.onHand - c.sold,
      shuffleSeed: room.config.shuffleSeed,
    };
  }

  ticketView(room: DropRoom, ticket: string): TicketView | Failure {
    const t = room.ticket(ticket);
    return t === undefined ? fail('TICKET_NOT_FOUND', { ticket }) : room.view(t, this.o.clock.now());
  }

  /** The claims of a valid token for `sku` at `nowMs`, or why not (any node). */
  verify(sku: string, token: string, nowMs: number): AdmissionClaims | null {
    const config = this.configs.get(sku);
    if (config === undefined || token.length > dropLimits.admissionTokenLengthMax) return null;
    const r = verifyAdmission(Buffer.from(config.tokenKey, 'hex'), token, sku, nowMs);
    return r.ok ? r.claims : null;
  }

  perCustomerLimit(sku: string): number {
    return this.configs.get(sku)?.perCustomerLimit ?? 0;
  }

  claim(sku: string, claimKey: string, customerId: string, qty: number): Promise<ClaimOutcome> {
    return this.o.store.claim(sku, claimKey, customerId, qty, this.perCustomerLimit(sku));
  }

  release(sku: string, claimKey: string): Promise<boolean> {
    return this.o.store.release(sku, claimKey);
  }

  claimOf(sku: string, claimKey: string): Promise<DropClaim | null> {
    return this.o.store.claimOf(sku, claimKey);
  }

  /** The rooms this node holds (at most `limit`, loaded ones only), for the operator dashboard. */
  async localViews(limit: number): Promise<DropView[]> {
    const rooms = await Promise.all([...this.rooms.values()].slice(0, limit).map((p) => p.catch(() => null)));
    return rooms.filter((r): r is DropRoom => r !== null).map((r) => this.view(r));
  }

  /** Buyers waiting in each loaded room of this node (boxoffice_drop_queue_length). */
  queueLengths(): { sku: string; waiting: number }[] {
    const out: { sku: string; waiting: number }[] = [];
    for (const [sku, p] of this.rooms) {
      const room = this.loadedRooms.get(p);
      if (room) out.push({ sku, waiting: Math.max(0, room.queued - room.admittedCount) });
    }
    return out;
  }

  /** Steps every room this node owns; forgets the rooms whose partition left, and any a foreign write made stale. */
  private async tick(): Promise<void> {
    const steps: Promise<void>[] = [];
    for (const [sku, p] of this.rooms) {
      if (!this.o.owns(sku)) {
        this.rooms.delete(sku);
        continue;
      }
      steps.push(p.then((room) => {
        if (room.stale) this.rooms.delete(sku);
        return room.step();
      }));
    }
    await Promise.allSettled(steps);
  }

  /** Rereads which SKUs are drops; loads the rooms of drops owned here, so they admit and expire without a request. */
  private async refresh(): Promise<void> {
    const rows = await this.o.store.all();
    this.configs = new Map(rows.map((r) => [r.sku, r]));
    for (const r of rows) if (this.o.owns(r.sku) && !this.rooms.has(r.sku)) void this.room(r.sku).catch(() => undefined);
  }

  private arm(what: string, everyMs: number, fn: () => Promise<void>): void {
    const run = () => {
      if (this.stopped) return;
      fn()
        .catch((err: unknown) => this.o.log.warn({ err }, `drops ${what} failed; retried`))
        .finally(() => {
          if (!this.stopped) this.timers.set(what, this.o.clock.setTimer(this.o.clock.now() + everyMs, run));
        });
    };
    this.timers.set(what, this.o.clock.setTimer(this.o.clock.now() + everyMs, run));
  }
}
