import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { admissionsDue, isSoldOut, queueOrder, shuffledOrder, shuffleKey } from '../../../src/domain/drop-queue.js';
import { seededRng, shuffle } from '../../support/seeded-random.js';

const buyers = (n: number, early = true) => Array.from({ length: n }, (_, i) => ({ customerId: `c-${i}`, seq: i + 1, early }));

describe('the shuffle of the early joiners', () => {
  it('gives the same order for the same seed, whatever order the joiners are listed in', () => {
    const seed = 'a'.repeat(64);
    const list = buyers(500);
    const first = shuffledOrder(seed, list).map((b) => b.customerId);
    for (const s of [1, 2, 3]) expect(shuffledOrder(seed, shuffle(seededRng(s), [...list])).map((b) => b.customerId)).toEqual(first);
  });

  it('gives another order for another seed', () => {
    const list = buyers(200);
    expect(shuffledOrder('seed-1', list).map((b) => b.customerId)).not.toEqual(shuffledOrder('seed-2', list).map((b) => b.customerId));
  });

  it('is recomputed by anyone as the joiners sorted by hex SHA-256 of "<seed>:<customerId>"', () => {
    const seed = '0f'.repeat(32);
    const list = buyers(300);
    const audit = list.map((b) => ({ id: b.customerId, k: createHash('sha256').update(`${seed}:${b.customerId}`).digest('hex') })).sort((x, y) => (x.k < y.k ? -1 : 1)).map((x) => x.id);
    expect(shuffledOrder(seed, list).map((b) => b.customerId)).toEqual(audit);
    expect(shuffleKey(seed, 'c-1')).toBe(createHash('sha256').update(`${seed}:c-1`).digest('hex'));
  });

  it('does not keep the arrival order (early arrival gives no edge)', () => {
    const order = shuffledOrder('s', buyers(1_000)).map((b) => b.seq);
    const inPlace = order.filter((seq, i) => seq === i + 1).length;
    expect(inPlace).toBeLessThan(20);
  });

  it('puts the later joiners after the shuffled early ones, in arrival order', () => {
    const early = buyers(50);
    const late = [7, 3, 9].map((seq) => ({ customerId: `late-${seq}`, seq: 100 + seq, early: false }));
    const q = queueOrder('seed', [...late, ...early]);
    expect(q.slice(0, 50).map((b) => b.customerId).sort()).toEqual(early.map((b) => b.customerId).sort());
    expect(q.slice(50).map((b) => b.customerId)).toEqual(['late-3', 'late-7', 'late-9']);
  });
});

describe('admission by capacity', () => {
  const base = { available: 10, checkoutsInFlight: 0, checkoutsInFlightMax: 1_000, admittedOpen: 0, waiting: 100, admitsMax: 5_000 };
  it.each([
    ['admits one buyer per unit left', {}, 10],
    ['counts the open admissions against the units', { admittedOpen: 4 }, 6],
    ['admits nobody while every unit has an admitted buyer', { admittedOpen: 10 }, 0],
    ['never goes negative when more are admitted than units are left', { available: 2, admittedOpen: 5 }, 0],
    ['is bounded by the checkouts this node can still take', { checkoutsInFlight: 995 }, 5],
    ['counts open admissions against that bound too', { checkoutsInFlight: 995, admittedOpen: 2 }, 3],
    ['admits nobody on a node at its checkout bound', { checkoutsInFlight: 1_000 }, 0],
    ['admits at most the buyers waiting', { waiting: 3 }, 3],
    ['admits at most admitsMax in one step', { available: 10_000, checkoutsInFlightMax: 100_000, admitsMax: 50 }, 50],
    ['admits the next buyer as soon as a unit is free and nobody admitted holds it', { available: 1, admittedOpen: 0 }, 1],
    ['admits nobody when sold', { available: 0 }, 0],
  ])('%s', (_name, over, expected) => {
    expect(admissionsDue({ ...base, ...over })).toBe(expected);
  });

  it('calls a drop sold out only when nothing is available and nothing is held', () => {
    expect(isSoldOut({ available: 0, held: 0 })).toBe(true);
    expect(isSoldOut({ available: 0, held: 1 })).toBe(false);
    expect(isSoldOut({ available: 1, held: 0 })).toBe(false);
  });
});
