import { describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from '../support/ensure-built.js';
import { seedToRun } from '../support/seeded-random.js';
import { join } from 'node:path';
import { runChaos } from '../../scripts/chaos/run-chaos.js';
import { describeStep, faultKinds, makeSchedule } from '../../scripts/chaos/schedule.js';

/**
 * A short `npm run chaos` inside the suite (docs/chaos.md): a three-node cluster on its own PostgreSQL and Redis,
 * selling through the Stripe test server, while the nemesis goes once through every fault kind. The checker must
 * find the history valid. Replay a failing seed with BO_SEED=<seed> (or `npm run chaos -- --seed <seed>`).
 * The checker's own power to fail a bad history is tested in test/unit/scripts/chaos-checker.test.ts.
 */
const durationMs = 30_000;

describe('chaos under load', () => {
  it('gives the same fault schedule for the same seed, and covers every fault kind in a short run', () => {
    const a = makeSchedule(42, durationMs, faultKinds, 3).map(describeStep);
    expect(makeSchedule(42, durationMs, faultKinds, 3).map(describeStep)).toEqual(a);
    expect(makeSchedule(43, durationMs, faultKinds, 3).map(describeStep)).not.toEqual(a);
    expect(new Set(makeSchedule(42, durationMs, faultKinds, 3).slice(0, faultKinds.length).map((s) => s.kind))).toEqual(new Set(faultKinds));
  });

  it('keeps every acknowledged order, never oversells, charges at most once per key and ends every hold while the nemesis runs every fault', async () => {
    ensureBuilt(join(repoRoot, 'dist', 'src', 'main.js'));
    const seed = seedToRun(20_251);
    const report = await runChaos({ seed, durationMs, faults: faultKinds, clients: 4 });
    const lines = report.events.map((e) => `${describeStep(e.step)} → ${e.healedMs - e.startedMs} ms${e.error ? ` error ${e.error}` : ''}`);
    console.log(`chaos seed ${seed}: ${report.attempts} requests`, report.tally, report.result.keys, lines);
    expect(report.events.every((e) => e.error === null), lines.join('\n')).toBe(true);
    expect(new Set(report.events.map((e) => e.step.kind)), `seed ${seed}: every fault kind ran`).toEqual(new Set(faultKinds));
    expect(report.result.violations, `seed ${seed}`).toEqual([]);
    expect(report.unexpectedExits, `seed ${seed}: nodes that died by themselves`).toEqual([]);
    // A run that sold nothing would pass every check vacuously.
    expect(report.result.keys.ok, `seed ${seed}: orders acknowledged`).toBeGreaterThan(50);
  }, 150_000);
});
