import pino from 'pino';
import { replayJournal } from '../../src/actors/recovery.js';
import { oversoldUnits } from '../../src/domain/inventory.js';
import { canonicalJson } from '../../src/domain/canonical-json.js';
import { parseEntity } from '../../src/domain/entities.js';
import type { InventoryEvent } from '../../src/domain/inventory.js';
import { decodePayload } from '../../src/persistence/journal-codec.js';
import { loadPartitions } from '../../src/persistence/journal.js';
import type { NewOrder } from '../../src/persistence/order-writer.js';
import type { AuthorizationState } from '../../src/payments/simulated-provider.js';
import { SimSql } from './sim-database.js';
import { SimFaults } from './sim-faults.js';
import type { Answer, SimClient } from './sim-clients.js';
import type { SimWorld } from './sim-world.js';

/** An invariant broke: the run fails and prints its seed. */
export class SimViolation extends Error {
  override readonly name = 'SimViolation';
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new SimViolation(what);
}

const live = (a: AuthorizationState) => a.status === 'authorized' || a.status === 'captured' || a.status === 'requires_action';

/**
 * The invariants of DESIGN.md, checked while the run goes (after every step, incrementally) and once it has settled.
 * It reads only what a client was told, what the provider holds and what the database holds (plus, for
 * conservation, each SKU's live counts).
 */
export class SimChecker {
  private ordersSeen = 0;
  private readonly soldByOrders = new Map<string, number>();
  private authsSeen = 0;
  private readonly authsByCheckout = new Map<string, string[]>();
  private readonly authsByKey = new Map<string, string[]>();
  /** Holds pinned and not ended in the durable journal (filled by holdsEndOnce). */
  private pinned = new Set<string>();
  private readonly acknowledged = new Map<string, { orderId: string; status: 'confirmed' | 'pending' }>();

  constructor(private readonly w: SimWorld) {}

  /** The first violation seen in an answer (answers arrive in promise callbacks; the next step throws it). */
  private answerViolation: SimViolation | null = null;

  /** Every answer as the client reads it: an acknowledged order is in the database, and a replay equals the first answer. */
  onAnswer(c: SimClient, a: Answer): void {
    try {
      this.checkAnswer(c, a);
    } catch (err) {
      if (!(err instanceof SimViolation)) throw err;
      this.answerViolation ??= err;
    }
  }

  private checkAnswer(c: SimClient, a: Answer): void {
    if (a.kind === 'durable' && (a.statusCode === 201 || a.statusCode === 202)) {
      const orderId = (a.body as { orderId?: string }).orderId ?? '';
      const order = this.w.db.orders.get(orderId);
      must(order !== undefined && order.idempotencyKey === c.key, `${c.key}: answered ${a.statusCode} for ${orderId}, which is not stored`);
      must(a.statusCode !== 201 || order!.status === 'confirmed', `${c.key}: answered 201 confirmed for ${orderId}, which is stored ${order!.status}`);
      this.acknowledged.set(c.key, { orderId, status: a.statusCode === 201 ? 'confirmed' : 'pending' });
    }
    const first = c.final;
    if (a.kind === 'durable' && first?.kind === 'durable') {
      must(a.statusCode === first.statusCode && canonicalJson(a.body) === canonicalJson(first.body), `${c.key}: answered ${a.statusCode} ${canonicalJson(a.body)} after ${first.statusCode} ${canonicalJson(first.body)}`);
    }
  }

  /** After every step. */
  step(): void {
    if (this.answerViolation) throw this.answerViolation;
    if (this.w.violation) throw new SimViolation(this.w.violation);
    for (const [key, ack] of this.acknowledged) must(this.w.db.orders.has(ack.orderId), `${key}: acknowledged order ${ack.orderId} lost`);
    this.conservation();
    this.newOrders();
    this.newAuthorizations();
  }

  /** Every SKU's live counts add up and never exceed the stock. */
  private conservation(): void {
    for (const n of this.w.live()) {
      for (const sku of this.w.skus) {
        if (!n.ownsSku(sku)) continue;
        const v = n.inventory.view(sku);
        if (!v) continue;
        must(v.available >= 0 && v.available + v.held + v.sold === v.onHand && v.onHand === this.w.o.stock, `${sku} on ${n.id}: counts ${JSON.stringify(v)} with stock ${this.w.o.stock}`);
      }
    }
  }

  /** No oversell, by the orders themselves: the units of confirmed orders never exceed the stock. */
  private newOrders(): void {
    const orders = this.w.db.orderLog;
    for (; this.ordersSeen < orders.length; this.ordersSeen++) {
      const o = orders[this.ordersSeen]!;
      const byKey = [...this.w.db.orders.values()].filter((x) => x.idempotencyKey === o.idempotencyKey);
      must(byKey.length === 1, `${o.idempotencyKey}: ${byKey.length} orders`);
      if (o.status !== 'confirmed') continue;
      for (const item of o.items) {
        const sold = (this.soldByOrders.get(item.sku) ?? 0) + item.qty;
        this.soldByOrders.set(item.sku, sold);
        must(sold <= this.w.o.stock, `oversold ${item.sku}: ${sold} units in confirmed orders, stock ${this.w.o.stock}`);
      }
    }
  }

  /** At most one authorization per provider key (`<checkoutId>:authorize`), and one live one per Idempotency-Key. */
  private newAuthorizations(): void {
    for (;;) {
      const a = this.w.provider.stateOf(`pi_sim_${this.authsSeen + 1}`);
      if (!a) break;
      this.authsSeen++;
      const byCheckout = push(this.authsByCheckout, a.metadata['checkoutId'] ?? '?', a.authId);
      must(byCheckout.length === 1, `checkout ${a.metadata['checkoutId']}: ${byCheckout.length} authorizations (${byCheckout.join(', ')})`);
      push(this.authsByKey, a.metadata['checkoutKey'] ?? '?', a.authId);
    }
    for (const [key, ids] of this.authsByKey) {
      if (ids.length < 2) continue;
      const states = ids.map((id) => this.w.provider.stateOf(id)!);
      must(states.filter(live).length <= 1, `${key}: ${states.filter(live).length} live authorizations (${ids.join(', ')})`);
      must(states.filter((s) => s.status === 'captured').length <= 1, `${key}: captured twice`);
    }
  }

  /** Once the run has settled (every client answered, every hold's TTL passed). */
  async final(clients: SimClient[]): Promise<void> {
    this.step();
    for (const c of clients) must(c.final !== null, `${c.key}: never answered for good`);
    for (const n of this.w.live()) for (const p of n.host.servedPartitions()) must((n.host.checkoutActor(p)?.running() ?? 0) === 0, `${n.id}: checkouts of partition ${p} still running`);
    for (const [key, ack] of this.acknowledged) must(this.w.db.orders.get(ack.orderId)?.status !== undefined, `${key}: acknowledged order ${ack.orderId} lost`);
    this.holdsEndOnce();
    await this.durableStock();
    this.payments(clients);
  }

  /** Recovered from the database exactly as a node would: counts equal the confirmed orders and the live counts. */
  private async durableStock(): Promise<void> {
    const sql = new SimSql(this.w.db, 'checker', new SimFaults(() => 0.5, { journal: 0, store: 0, provider: 0, network: 0, crash: 0, move: 0 }));
    const rows = await loadPartitions(sql, this.w.partitionsList());
    const state = replayJournal(rows.snapshots, rows.events, pino({ level: 'silent' }));
    for (const sku of this.w.skus) {
      const s = state.skus.get(sku);
      must(s !== undefined, `${sku}: no durable state`);
      // Replay loads an oversold journal instead of throwing (a node must serve it and report it): check it here.
      must(oversoldUnits(s!) === 0, `${sku}: the journal oversells it by ${oversoldUnits(s!)} units`);
      const sold = this.soldByOrders.get(sku) ?? 0;
      const waiting = this.pinnedForPending(sku);
      must(s!.sold === sold && s!.held === waiting && s!.onHand === this.w.o.stock, `${sku}: durable sold ${s!.sold} held ${s!.held} onHand ${s!.onHand}; confirmed orders hold ${sold}, pinned for pending orders ${waiting}`);
      const owner = this.w.live().find((n) => n.ownsSku(sku));
      const v = owner?.inventory.view(sku);
      if (v) must(v.sold === s!.sold && v.held === s!.held, `${sku}: live counts ${v.sold}/${v.held} differ from the durable ${s!.sold}/${s!.held}`);
    }
    // A saga without a tombstone is run again by the next recovery: only harmless if its answer is stored (it stops at
    // once) or its compensation is journaled (it repeats the compensation, every step idempotent).
    for (const u of state.unfinished) {
      must(u.compensating !== null || this.w.db.responses.get(u.plan.key)?.statusCode != null, `${u.plan.key}: its saga would run again at recovery (no answer stored, no compensation journaled)`);
    }
  }

  /** Every hold, in the journal's order: reserved, maybe pinned, then committed or released, once; committed once ever. */
  private holdsEndOnce(): void {
    const open = new Map<string, string>();
    const committed = new Set<string>();
    for (const row of this.w.db.journalRows()) {
      const entity = parseEntity(row.entity);
      if (entity?.kind !== 'sku') continue;
      for (const e of decodePayload(row.payload) as InventoryEvent[]) {
        if (e.t !== 'reserved' && e.t !== 'committed' && e.t !== 'released' && e.t !== 'pinned') continue;
        const id = `${entity.id}/${e.holdId}`;
        if (e.t === 'reserved') must(!open.has(id), `hold ${id} reserved twice while open`);
        else must(open.has(id), `hold ${id} ${e.t} while not open (seq ${row.seq})`);
        if (e.t === 'reserved') open.set(id, 'active');
        else if (e.t === 'pinned') open.set(id, 'pinned');
        else open.delete(id);
        if (e.t === 'committed') {
          must(!committed.has(id), `hold ${id} committed twice: one order sold twice`);
          committed.add(id);
        }
      }
    }
    this.pinned = new Set([...open].filter(([, status]) => status === 'pinned').map(([id]) => id));
    const left = [...open].filter(([id, status]) => !(status === 'pinned' && this.pendingCheckouts().has(id.split('/')[1]!)));
    must(left.length === 0, `holds never ended: ${left.slice(0, 5).map(([id]) => id).join(', ')}`);
  }

  /**
   * Checkouts whose order is pending (payment outcome unknown): a re-run of a saga that had pinned its holds keeps them
   * pinned (pinned holds never expire) for the pending sweeper, which confirms the order and commits them or fails it
   * and releases them. The sweeper is not part of the simulation, so these holds are the only ones allowed to stay.
   */
  private pendingCheckouts(): Set<string> {
    return new Set([...this.w.db.orders.values()].filter((o) => o.status === 'pending').map((o) => o.checkoutId));
  }

  private pinnedForPending(sku: string): number {
    const pending = this.pendingCheckouts();
    let held = 0;
    for (const o of this.w.db.orders.values()) if (pending.has(o.checkoutId)) for (const r of o.reservations) if (r.sku === sku && this.pinned.has(`${sku}/${r.reservationId}`)) held += r.qty;
    return held;
  }

  /** A confirmed order holds exactly its own live authorization; a key without an order holds none. */
  private payments(clients: SimClient[]): void {
    const orderOf = new Map<string, NewOrder>();
    for (const o of this.w.db.orders.values()) orderOf.set(o.idempotencyKey, o);
    for (const c of clients) {
      const states = (this.authsByKey.get(c.key) ?? []).map((id) => this.w.provider.stateOf(id)!);
      const liveIds = states.filter(live).map((s) => s.authId);
      const order = orderOf.get(c.key);
      if (order?.status === 'confirmed') must(liveIds.length === 1 && liveIds[0] === order.payment.authId, `${c.key}: confirmed with ${order.payment.authId}, live ${liveIds.join(', ') || 'none'}`);
      else if (order === undefined) must(liveIds.length === 0, `${c.key}: no order, yet authorization ${liveIds.join(', ')} is live`);
    }
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): V[] {
  const list = m.get(k) ?? [];
  list.push(v);
  m.set(k, list);
  return list;
}

/** Debugging aid (SIM_DEBUG=1): the durable events of the holds still open at the end. */
export function openHoldsReport(w: SimWorld): string {
  const byHold = new Map<string, string[]>();
  for (const row of w.db.journalRows()) {
    const entity = parseEntity(row.entity);
    if (entity?.kind !== 'sku') continue;
    for (const e of decodePayload(row.payload) as InventoryEvent[]) {
      if (!('holdId' in e)) continue;
      const id = `${entity.id}/${e.holdId}`;
      const list = byHold.get(id) ?? [];
      list.push(`${row.seq}@e${row.epoch}:${e.t}${e.t === 'released' ? `(${e.reason})` : ''}${e.t === 'reserved' ? `(exp ${e.expiresAtMs - w.clock.now()})` : ''}`);
      byHold.set(id, list);
    }
  }
  const confirmedCheckouts = new Set([...w.db.orders.values()].filter((o) => o.status === 'confirmed').map((o) => o.checkoutId));
  const soldWithoutOrder = [...byHold].filter(([id, l]) => l.some((x) => x.includes('committed')) && !confirmedCheckouts.has(id.split('/')[1]!));
  const open = [...byHold].filter(([, l]) => !/committed|released/.test(l[l.length - 1]!)).concat(soldWithoutOrder);
  const sagas = open.map(([id]) => {
    const checkoutId = id.split('/')[1]!;
    const rows = w.db.journalRows().filter((r) => r.entity.startsWith('co:')).map((r) => ({ r, e: decodePayload(r.payload) as { t: string; plan?: { checkoutId: string; key: string } } }));
    const key = rows.find((x) => x.e.plan?.checkoutId === checkoutId)?.e.plan?.key ?? '?';
    const events = rows.filter((x) => x.r.entity === `co:${key}`).map((x) => `${x.r.partition}/${x.r.seq}@e${x.r.epoch}:${x.e.t}`);
    const snap = [...w.db.snapshots.values()].find((sn) => sn.entity === `co:${key}`);
    return `  saga ${key}: ${events.join(' ')} tombstone ${snap ? `${snap.seq}@e${snap.epoch}` : 'none'} response ${JSON.stringify(w.db.responses.get(key) ?? null).slice(0, 200)}`;
  });
  return open.map(([id, l], i) => `${id}: ${l.join(' ')}\n${sagas[i]}`).join('\n');
}
