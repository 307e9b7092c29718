import { parseArgs } from 'node:util';
import { contenderKinds, type ContenderKind } from './servers.js';

/**
 * `npm run bench -- [--scenario <name>]… [--quick] [--contenders a,b] [--help]`. Parsing is pure: a bad argument
 * is a UsageError whose message says what was wrong, and the caller prints it with the help text (exit code 2).
 */
export class UsageError extends Error {}

export interface BenchArgs {
  help: boolean;
  quick: boolean;
  scenarios: string[];
  contenders: ContenderKind[];
}

/** The contenders a run uses when --contenders is absent: all four sellers (`hello` joins soldout-storm itself). */
export const defaultContenders: ContenderKind[] = ['boxoffice', 'pg-conditional', 'pg-for-update', 'redis-lua'];

export function parseBenchArgs(argv: string[], scenarioNames: readonly string[]): BenchArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string', multiple: true },
        quick: { type: 'boolean', default: false },
        contenders: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const scenarios = v.scenario ?? [...scenarioNames];
  for (const s of scenarios) if (!scenarioNames.includes(s)) throw new UsageError(`unknown scenario '${s}' (known: ${scenarioNames.join(', ')})`);
  const requested = (v.contenders ?? []).flatMap((c) => c.split(',')).map((c) => c.trim()).filter((c) => c !== '');
  for (const c of requested) if (!(contenderKinds as readonly string[]).includes(c)) throw new UsageError(`unknown contender '${c}' (known: ${contenderKinds.join(', ')})`);
  if (v.contenders !== undefined && requested.length === 0) throw new UsageError('--contenders needs at least one name');
  // Keep the canonical order (boxoffice first) whatever order the names came in, and drop repeats.
  const contenders = requested.length === 0 ? defaultContenders : contenderKinds.filter((k) => requested.includes(k));
  return { help: v.help ?? false, quick: v.quick ?? false, scenarios: [...new Set(scenarios)], contenders };
}

export function helpText(scenarios: ReadonlyArray<{ name: string; description: string }>): string {
  const width = Math.max(...scenarios.map((s) => s.name.length));
  return [
    'usage: npm run bench -- [--scenario <name>]… [--quick] [--contenders a,b] [--help]',
    '',
    'Runs flash-sale scenarios against boxoffice and the contenders on this machine, checks correctness from the',
    'database after every run, and writes bench/results/<date>-<scenario>.{json,md,svg}. See bench/README.md.',
    '',
    'options:',
    '  --scenario <name>   run this scenario (repeatable; default: all)',
    '  --quick             short runs: each scenario in under 2 minutes',
    `  --contenders a,b    which servers to run (default: ${defaultContenders.join(',')}; also: hello)`,
    '  --help, -h          this text',
    '',
    'scenarios:',
    ...scenarios.map((s) => `  ${s.name.padEnd(width)}  ${s.description}`),
    '',
    'environment: DATABASE_URL (admin database; default postgresql://postgres@127.0.0.1:5432/postgres),',
    '  REDIS_URL (default redis://127.0.0.1:6379), and knobs passed to every server: DB_POOL_SIZE,',
    '  JOURNAL_BATCH_ROWS, JOURNAL_BATCH_DELAY_MS, PARTITIONS, HOLD_TTL_MS, PASSIVATE_IDLE_MS.',
  ].join('\n');
}
