import { parseArgs } from 'node:util';
import { contenderKinds, paymentProviderKinds, type ContenderKind, type PaymentProviderKind } from './servers.js';

/**
 * `npm run bench -- [--scenario <name>]… [--quick] [--contenders a,b] [--payments a,b] [--help]`. Parsing is pure: a bad argument
 * is a UsageError whose message says what was wrong, and the caller prints it with the help text (exit code 2).
 */
export class UsageError extends Error {}

export interface BenchArgs {
  help: boolean;
  quick: boolean;
  scenarios: string[];
  contenders: ContenderKind[];
  /** The payment providers flash-hot runs boxoffice with (simulated only by default); other scenarios ignore it. */
  payments: PaymentProviderKind[];
}

/** The contenders a run uses when --contenders is absent: all four sellers (`hello` joins soldout-storm itself). */
export const defaultContenders: ContenderKind[] = ['boxoffice', 'pg-conditional', 'pg-for-update', 'redis-lua'];
/** The payment providers when --payments is absent: the simulated one, as every run before the Stripe adapter. */
export const defaultPayments: PaymentProviderKind[] = ['simulated'];
/** The one scenario that runs boxoffice with its Stripe adapter (against the Stripe test server it starts). */
export const stripeScenario = 'flash-hot';

export function parseBenchArgs(argv: string[], scenarioNames: readonly string[]): BenchArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string', multiple: true },
        quick: { type: 'boolean', default: false },
        contenders: { type: 'string', multiple: true },
        payments: { type: 'string', multiple: true },
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
  const payments = parsePayments(v.payments, scenarios, contenders);
  return { help: v.help ?? false, quick: v.quick ?? false, scenarios: [...new Set(scenarios)], contenders, payments };
}

/**
 * --payments a,b: which payment providers flash-hot runs boxoffice with, in canonical order (simulated first). The
 * Stripe adapter is boxoffice's alone and only flash-hot starts the Stripe test server, so `stripe` without
 * boxoffice among the contenders, or without flash-hot among the scenarios, would measure nothing: refused.
 */
function parsePayments(values: string[] | undefined, scenarios: string[], contenders: ContenderKind[]): PaymentProviderKind[] {
  const requested = (values ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== '');
  for (const p of requested) if (!(paymentProviderKinds as readonly string[]).includes(p)) throw new UsageError(`unknown payment provider '${p}' (known: ${paymentProviderKinds.join(', ')})`);
  if (values !== undefined && requested.length === 0) throw new UsageError('--payments needs at least one name');
  const payments = requested.length === 0 ? defaultPayments : paymentProviderKinds.filter((k) => requested.includes(k));
  if (payments.includes('stripe')) {
    if (!contenders.includes('boxoffice')) throw new UsageError('--payments stripe needs boxoffice among the contenders (only boxoffice has a Stripe adapter)');
    if (!scenarios.includes(stripeScenario)) throw new UsageError(`--payments stripe needs --scenario ${stripeScenario} (the only scenario that runs the Stripe adapter)`);
  }
  return payments;
}

export function helpText(scenarios: ReadonlyArray<{ name: string; description: string }>): string {
  const width = Math.max(...scenarios.map((s) => s.name.length));
  return [
    'usage: npm run bench -- [--scenario <name>]… [--quick] [--contenders a,b] [--payments a,b] [--help]',
    '',
    'Runs flash-sale scenarios against boxoffice and the contenders on this machine, checks correctness from the',
    'database after every run, and writes bench/results/<date>-<scenario>.{json,md,svg}. See bench/README.md.',
    '',
    'options:',
    '  --scenario <name>   run this scenario (repeatable; default: all)',
    '  --quick             short runs: each scenario in under 2 minutes',
    `  --contenders a,b    which servers to run (default: ${defaultContenders.join(',')}; also: hello)`,
    `  --payments a,b      flash-hot only: which payment providers boxoffice runs with (default: ${defaultPayments.join(',')};`,
    `                      known: ${paymentProviderKinds.join(', ')}); stripe = boxoffice's Stripe adapter against the`,
    '                      Stripe test server the run starts, side by side with simulated at the same latencies',
    '  --help, -h          this text',
    '',
    'scenarios:',
    ...scenarios.map((s) => `  ${s.name.padEnd(width)}  ${s.description}`),
    '',
    'environment: DATABASE_URL (admin database; default postgresql://postgres@127.0.0.1:5432/postgres),',
    '  REDIS_URL (default redis://127.0.0.1:6379), and knobs passed to every server: DB_POOL_SIZE,',
    '  JOURNAL_BATCH_ROWS, JOURNAL_BATCH_DELAY_MS, PARTITIONS, HOLD_TTL_MS, PASSIVATE_IDLE_MS, and the trace export',
    '  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG.',
  ].join('\n');
}
