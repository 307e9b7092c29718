import { parseArgs } from 'node:util';
import { faultKinds, type FaultKind } from './schedule.js';

/**
 * `npm run chaos -- --seed N --duration-ms M --faults kill,pg-restart,…`: its options, parsed purely. A bad argument
 * is a UsageError; the CLI prints it with the help text and exits with code 2.
 */
export class UsageError extends Error {}

export const chaosLimits = {
  /** A run shorter than this cannot fit one fault and its recovery. */
  durationMsMin: 5_000,
  /** An hour: longer runs are soak tests, not chaos runs, and the history is kept in memory. */
  durationMsMax: 3_600_000,
  durationMsDefault: 60_000,
  clientsMin: 1,
  clientsMax: 64,
  clientsDefault: 6,
} as const;

export interface ChaosArgs {
  help: boolean;
  /** null: a seed is drawn and printed. */
  seed: number | null;
  durationMs: number;
  faults: FaultKind[];
  clients: number;
  quiet: boolean;
}

export function parseChaosArgs(argv: readonly string[]): ChaosArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        seed: { type: 'string' },
        'duration-ms': { type: 'string' },
        faults: { type: 'string' },
        clients: { type: 'string' },
        quiet: { type: 'boolean', short: 'q', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  return {
    help: v.help === true,
    seed: whole(v.seed, '--seed', 0, 2 ** 32 - 1),
    durationMs: whole(v['duration-ms'], '--duration-ms', chaosLimits.durationMsMin, chaosLimits.durationMsMax) ?? chaosLimits.durationMsDefault,
    faults: v.faults === undefined ? [...faultKinds] : faultList(v.faults),
    clients: whole(v.clients, '--clients', chaosLimits.clientsMin, chaosLimits.clientsMax) ?? chaosLimits.clientsDefault,
    quiet: v.quiet === true,
  };
}

function faultList(text: string): FaultKind[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.filter((n) => !(faultKinds as readonly string[]).includes(n));
  if (unknown.length > 0) throw new UsageError(`--faults: unknown fault ${unknown.join(', ')} (known: ${faultKinds.join(', ')})`);
  return [...new Set(names as FaultKind[])];
}

function whole(text: string | undefined, name: string, min: number, max: number): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

export function chaosHelpText(): string {
  return [
    'usage: npm run chaos -- [--seed N] [--duration-ms M] [--faults LIST] [--clients C] [--quiet]',
    '',
    'Runs a flash sale on a three-node cluster (a private PostgreSQL, a private Redis, the Stripe test server) while a',
    'nemesis injects faults on a schedule drawn from the seed, records every request, and checks the history.',
    '',
    `  --seed N          seed of the fault schedule and of the clients' choices (default: drawn and printed)`,
    `  --duration-ms M   how long faults are injected (${chaosLimits.durationMsMin} … ${chaosLimits.durationMsMax}, default ${chaosLimits.durationMsDefault})`,
    `  --faults LIST     comma-separated, default all: ${faultKinds.join(', ')}; an empty list runs the sale without faults`,
    `  --clients C       concurrent clients (${chaosLimits.clientsMin} … ${chaosLimits.clientsMax}, default ${chaosLimits.clientsDefault})`,
    '  --quiet           no progress line',
    '',
    'Exit codes: 0 every check passed, 1 an invariant was violated (printed with the seed), 2 bad arguments,',
    '3 the run itself could not be carried out (a service did not start).',
  ].join('\n');
}
