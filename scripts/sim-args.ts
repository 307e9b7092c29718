/** Arguments of `npm run sim` (docs/simulation.md). */
export interface SimArgs {
  seeds: number;
  from: number;
  checkouts: number;
  /** Real seconds one seed may take before it counts as hung. */
  seedTimeoutS: number;
}

export const simHelpText = `npm run sim -- [--seeds N] [--from S] [--seed S] [--checkouts N]
  --seeds N      how many seeds to run (default 100), S, S+1, … S+N-1
  --from S       the first seed (default 1)
  --seed S       one seed (the replay of a failure): --from S --seeds 1
  --checkouts N  checkouts per seed (default 150)
A failing seed is printed with its error and replay commands; the exit code is 1 when any seed failed.`;

export class SimUsageError extends Error {}

export function parseSimArgs(argv: readonly string[]): SimArgs | 'help' {
  const a: SimArgs = { seeds: 100, from: 1, checkouts: 150, seedTimeoutS: 60 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') return 'help';
    const value = Number(argv[++i]);
    if (!Number.isSafeInteger(value) || value < 0) throw new SimUsageError(`${flag} needs a non-negative integer, got ${argv[i] ?? 'nothing'}`);
    if (flag === '--seeds') a.seeds = value;
    else if (flag === '--from') a.from = value;
    else if (flag === '--seed') [a.from, a.seeds] = [value, 1];
    else if (flag === '--checkouts') a.checkouts = value;
    else throw new SimUsageError(`unknown option ${flag}`);
  }
  return a;
}
