import { describe, expect, it } from 'vitest';
import { seedsToRun } from '../support/seeded-random.js';
import { faultKinds, type FaultKind } from './sim-faults.js';
import { runSeed, type RunOptions } from './sim-run.js';

/**
 * The seeded simulation of the whole checkout (docs/simulation.md): a fixed set of seeds on every `npm test`;
 * `npm run sim -- --seeds 10000` runs more. A failing seed replays with BO_SEED=<n> npx vitest run test/sim, or
 * npm run sim -- --seed <n>.
 */
const defaultSeeds = Array.from({ length: 40 }, (_, i) => i + 1);
const checkouts = 150;

describe('the whole checkout under a seeded simulation of crashes, moves, storage, network and provider faults', () => {
  it('keeps every invariant on every seed, and the seeds together inject every kind of fault', async () => {
    const injected = new Map<FaultKind, number>();
    const failures: string[] = [];
    for (const seed of seedsToRun(defaultSeeds)) {
      const r = await runSeed(seed, { checkouts });
      for (const [k, n] of r.counts) injected.set(k, (injected.get(k) ?? 0) + n);
      if (!r.ok) failures.push(`seed ${seed}: ${r.error}\n  replay: npm run sim -- --seed ${seed} --checkouts ${checkouts}   or   BO_SEED=${seed} npx vitest run test/sim`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
    // The run cannot silently stop injecting faults: each kind happened somewhere in the fixed seeds.
    if (process.env['BO_SEED'] === undefined) expect(faultKinds.filter((k) => !injected.has(k))).toEqual([]);
  });

  // Seeds that found bugs, kept as regressions: 1206 and 1441 authorized a checkout whose plan was not durable (a saga
  // re-run after its reserve failed in transit did not wait for its plan's journal record); 3325, 4158, 4559 and 8818
  // had an old owner, whose compensation record was fenced, void the authorization or release the pinned hold of a
  // checkout its partition's new owner then confirmed; 708, 1994 and 6083 never settled: a fenced checkout append
  // (plan or compensation) was not reported to the partition host, which kept serving a partition its journal refused.
  it.each([1206, 1441, 3325, 4158, 4559, 8818, 708, 1994, 6083])('keeps every invariant on seed %i, which found a bug', async (seed) => {
    const r = await runSeed(seed, { checkouts });
    expect(r.error).toBeUndefined();
  });

  it('replays a seed exactly: the same seed leaves the same database and provider behind', async () => {
    const [a, b] = [await runSeed(7, { checkouts: 100 }), await runSeed(7, { checkouts: 100 })];
    expect(a.ok).toBe(true);
    expect(b.digest).toBe(a.digest);
    expect([...b.counts].sort()).toEqual([...a.counts].sort());
  });

  const planted: { plant: NonNullable<RunOptions['plant']>; seed: number; caught: RegExp }[] = [
    { plant: 'double-authorize', seed: 1, caught: /2 authorizations/ },
    { plant: 'drop-orders', seed: 1, caught: /acknowledged order .* lost/ },
  ];
  it.each(planted)('fails a run with a planted fault: $plant', async ({ plant, seed, caught }) => {
    const r = await runSeed(seed, { checkouts: 100, plant });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(caught);
  });
});
