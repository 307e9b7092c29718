import { runSeed, type RunResult } from '../test/sim/sim-run.js';
import { parseSimArgs, simHelpText, SimUsageError } from './sim-args.js';

/**
 * `npm run sim -- --seeds 10000`: the seeded simulation of the whole checkout (docs/simulation.md) over many seeds,
 * one after another, with a progress line on stderr. Every failing seed is printed with its error and the commands
 * that replay it; the exit code is 1 when any failed.
 */
async function main(): Promise<number> {
  let args;
  try {
    args = parseSimArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof SimUsageError)) throw err;
    process.stderr.write(`${err.message}\n${simHelpText}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${simHelpText}\n`);
    return 0;
  }
  const failed: number[] = [];
  const startedMs = Date.now();
  let lastProgressMs = 0;
  const progress = (done: number, end = false) => {
    const now = Date.now();
    if (!end && now - lastProgressMs < 500) return;
    lastProgressMs = now;
    const rate = done / Math.max(0.001, (now - startedMs) / 1000);
    process.stderr.write(`\rseeds ${done}/${args.seeds}  failures ${failed.length}  ${rate.toFixed(1)} seeds/s  ${Math.round((now - startedMs) / 1000)} s${end ? '\n' : ''}`);
  };
  for (let i = 0; i < args.seeds; i++) {
    const seed = args.from + i;
    const r = await withinSeconds(runSeed(seed, { checkouts: args.checkouts }), args.seedTimeoutS, seed);
    if (!r.ok) {
      failed.push(seed);
      process.stderr.write(`\nseed ${seed} FAILED: ${r.error}\n  replay: npm run sim -- --seed ${seed} --checkouts ${args.checkouts}\n`);
    }
    progress(i + 1);
  }
  progress(args.seeds, true);
  if (failed.length > 0) {
    process.stderr.write(`failing seeds: ${failed.join(' ')}\n`);
    return 1;
  }
  process.stderr.write(`all ${args.seeds} seeds passed (${args.from}…${args.from + args.seeds - 1}, ${args.checkouts} checkouts each)\n`);
  return 0;
}

/** A seed that takes longer (real time) fails as hung; its run is abandoned. Real time is fine here: outside the simulation. */
function withinSeconds(run: Promise<RunResult>, seconds: number, seed: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ seed, ok: false, error: `hung: no result after ${seconds} s`, counts: new Map(), steps: 0, confirmed: 0, digest: '' }), seconds * 1000);
    void run.then((r) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
}

void main().then((code) => process.exit(code));
