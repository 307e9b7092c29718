/**
 * Seeded randomness for simulations and load tests (STYLE.md habit 11): every run names its seed, and the same
 * seed replays the same choices. Set BO_SEED=<n> to replay one seed (a list: BO_SEED=3,17).
 */
export type Rng = () => number;

/** mulberry32: a tiny PRNG with good enough spread for test choices; numbers in [0, 1). */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export const intBelow = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** An integer in [min, max]. */
export const intBetween = (rng: Rng, min: number, max: number): number => min + intBelow(rng, max - min + 1);

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[intBelow(rng, items.length)]!;
}

/** Fisher-Yates, in place; returns the array. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = intBelow(rng, i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** The seeds a test runs: BO_SEED when set (replaying a failure), otherwise `defaults`. */
export function seedsToRun(defaults: readonly number[]): number[] {
  const fromEnv = process.env['BO_SEED'];
  if (fromEnv === undefined || fromEnv.trim() === '') return [...defaults];
  return fromEnv.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isSafeInteger(n)) throw new Error(`BO_SEED must be integers, got ${JSON.stringify(fromEnv)}`);
    return n;
  });
}

/** One seed for a test that runs once: BO_SEED when set, else `fallback`. */
export function seedToRun(fallback: number): number {
  return seedsToRun([fallback])[0]!;
}
