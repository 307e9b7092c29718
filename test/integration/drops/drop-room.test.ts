import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DropRoom, type RoomDeps } from '../../../src/actors/drop-room.js';
import { SimulatedClock } from '../../../src/clock.js';
import { verifyAdmission } from '../../../src/domain/admission-token.js';
import { queueOrder } from '../../../src/domain/drop-queue.js';
import { DropStore, type DropRow } from '../../../src/persistence/drop-store.js';
import { createTestDatabase, drivers, type TestDatabase } from '../../support/sql-drivers.js';

/** A drop's room against the real tables (PostgreSQL and PGlite), stepped by hand on a simulated clock. */
describe.each(drivers)('a drop room on %s', (driver) => {
  let db: TestDatabase;
  let store: DropStore;
  let clock: SimulatedClock;
  let counts: { available: number; held: number; sold: number; onHand: number };
  let published: { ticket: string | null; data: any }[];
  let ids: number;
  const startsAtMs = 1_700_000_100_000;
  const config: DropRow = { sku: 'DROP-1', startsAtMs, perCustomerLimit: 1, admissionTtlMs: 5_000, tokenKey: '11'.repeat(32), shuffleSeed: null };

  beforeEach(async () => {
    db = await createTestDatabase(driver);
    store = new DropStore(db.sql);
    clock = new SimulatedClock(startsAtMs - 60_000);
    counts = { available: 3, held: 0, sold: 0, onHand: 3 };
    published = [];
    ids = 0;
    const r = await store.put(config, 100);
    expect(r).not.toBe('full');
  });
  afterEach(() => db.dispose());

  const deps = (): RoomDeps => ({
    store,
    clock,
    log: pino({ level: 'silent' }),
    counts: () => counts,
    checkouts: { inFlight: () => 0, inFlightMax: 1_000 },
    publish: (_sku, ticket, data) => published.push({ ticket, data }),
    newTicketId: () => `tk_${++ids}`,
    newSeed: () => 'ab'.repeat(32),
    counted: { admitted: () => undefined, expired: () => undefined },
  });

  async function joinAll(room: DropRoom, n: number, prefix = 'c'): Promise<string[]> {
    const tickets = await Promise.all(Array.from({ length: n }, (_, i) => room.join(`${prefix}-${i}`)));
    return tickets.map((t) => ('ticket' in t ? t.ticket : expect.fail(JSON.stringify(t))));
  }

  it('gives a customer who joins twice the same ticket, with no position before the start', async () => {
    const room = await DropRoom.load(config, deps());
    const [a, b] = await Promise.all([room.join('cust-1'), room.join('cust-1')]);
    expect(a).toBe(b);
    const again = await room.join('cust-1');
    expect(again).toBe(a);
    expect(room.view(room.ticket((a as { ticket: string }).ticket)!, clock.now())).toMatchObject({ state: 'waiting', position: null });
    expect(room.queued).toBe(1);
  });

  it('shuffles the early joiners once at the start with the published seed, then admits in queue order by capacity', async () => {
    const room = await DropRoom.load(config, deps());
    await joinAll(room, 20);
    clock.advance(60_000);
    await room.step();
    expect(room.config.shuffleSeed).toBe('ab'.repeat(32));
    expect((await store.get('DROP-1'))!.shuffleSeed).toBe('ab'.repeat(32));
    const rows = await store.tickets('DROP-1');
    const expected = queueOrder('ab'.repeat(32), rows).map((r) => r.ticket);
    const admitted = published.filter((p) => p.data.state === 'admitted').map((p) => p.ticket);
    expect(admitted).toEqual(expected.slice(0, 3));
    // Positions of the waiting count from 1 behind the admitted.
    expect(room.view(room.ticket(expected[3]!)!, clock.now())).toMatchObject({ state: 'waiting', position: 1 });
    expect(room.view(room.ticket(expected[19]!)!, clock.now())).toMatchObject({ state: 'waiting', position: 17 });
    // The token is bound to the customer, the SKU and the expiry.
    const v = room.view(room.ticket(expected[0]!)!, clock.now());
    const check = verifyAdmission(Buffer.from(config.tokenKey, 'hex'), v.admissionToken!, 'DROP-1', clock.now());
    expect(check).toMatchObject({ ok: true, claims: { sku: 'DROP-1', ticket: expected[0], expiresAtMs: clock.now() + 5_000 } });
  });

  it('queues the buyers who join after the start first come, first served, behind the shuffled ones', async () => {
    const room = await DropRoom.load(config, deps());
    await joinAll(room, 5, 'early');
    clock.advance(60_000);
    counts.available = 0;
    counts.held = 1;
    await room.step();
    const late = await joinAll(room, 4, 'late');
    const t = room.ticket(late[2]!)!;
    expect(room.view(t, clock.now())).toMatchObject({ state: 'waiting', position: 8 });
  });

  it('expires an admitted buyer who did not buy within admissionTtlMs and admits the next in line', async () => {
    const room = await DropRoom.load(config, deps());
    await joinAll(room, 10);
    clock.advance(60_000);
    await room.step();
    const first = published.filter((p) => p.data.state === 'admitted').map((p) => p.ticket);
    expect(first).toHaveLength(3);
    clock.advance(4_999);
    await room.step();
    expect(published.filter((p) => p.data.state === 'admitted')).toHaveLength(3);
    clock.advance(1);
    await room.step();
    expect(published.filter((p) => p.data.state === 'expired').map((p) => p.ticket)).toEqual(first);
    expect(published.filter((p) => p.data.state === 'admitted')).toHaveLength(6);
    expect(room.view(room.ticket(first[0]!)!, clock.now())).toMatchObject({ state: 'expired', position: null });
  });

  it('lets a buyer who bought free the admission for the next one', async () => {
    const room = await DropRoom.load({ ...config }, deps());
    await joinAll(room, 10);
    clock.advance(60_000);
    await room.step();
    const first = published.filter((p) => p.data.state === 'admitted').map((p) => p.ticket);
    const buyer = first[0]!;
    const customerId = (await store.tickets('DROP-1')).find((r) => r.ticket === buyer)!.customerId;
    expect(await store.claim('DROP-1', 'key-1', customerId, 1, 1)).toEqual({ t: 'claimed' });
    // The buyer's checkout holds a unit; another unit came back (a released hold), so one more can buy now.
    counts = { ...counts, held: 1 };
    await room.step();
    expect(published.filter((p) => p.data.state === 'admitted')).toHaveLength(4);
  });

  it('tells every waiting buyer at once when the drop sells out: one message for the drop, every poll sold_out', async () => {
    const room = await DropRoom.load(config, deps());
    const tickets = await joinAll(room, 8);
    clock.advance(60_000);
    await room.step();
    counts = { available: 0, held: 0, sold: 3, onHand: 3 };
    published = [];
    await room.step();
    await room.step();
    expect(published.filter((p) => p.ticket === null)).toEqual([{ ticket: null, data: { sku: 'DROP-1', state: 'sold_out' } }]);
    // Not one message per waiting ticket (a queue of a million would flood Redis): the drop's reaches them all.
    expect(published.filter((p) => p.ticket !== null)).toEqual([]);
    const waiting = tickets.map((t) => room.view(room.ticket(t)!, clock.now()).state).filter((s) => s !== 'admitted');
    expect(waiting).toEqual(Array(5).fill('sold_out'));
  });

  it('is loaded by a new owner from the tables with the same order, admitting nobody twice', async () => {
    const room = await DropRoom.load(config, deps());
    await joinAll(room, 12);
    clock.advance(60_000);
    await room.step();
    const before = published.filter((p) => p.data.state === 'admitted').map((p) => p.ticket);
    const moved = await DropRoom.load((await store.get('DROP-1'))!, deps());
    published = [];
    await moved.step();
    expect(published).toEqual([]);
    expect(moved.admittedCount).toBe(3);
    clock.advance(5_000);
    await moved.step();
    expect(published.filter((p) => p.data.state === 'expired').map((p) => p.ticket)).toEqual(before);
    const next = published.filter((p) => p.data.state === 'admitted').map((p) => p.ticket);
    const order = queueOrder('ab'.repeat(32), await store.tickets('DROP-1')).map((r) => r.ticket);
    expect(next).toEqual(order.slice(3, 6));
  });
});
