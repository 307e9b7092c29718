import { randomInt } from 'node:crypto';
import { chaosHelpText, parseChaosArgs, UsageError, type ChaosArgs } from './chaos/chaos-args.js';
import { runChaos, type ChaosReport } from './chaos/run-chaos.js';
import { describeStep } from './chaos/schedule.js';

/**
 * `npm run chaos`: a flash sale on a three-node cluster under a seeded nemesis, checked afterwards (docs/chaos.md).
 * Exit 0 when every check passed, 1 on a violated invariant (printed with the seed), 2 on bad arguments, 3 when
 * the run could not be carried out.
 */
async function main(argv: string[]): Promise<number> {
  let args: ChaosArgs;
  try {
    args = parseChaosArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`chaos: ${err.message}\n\n${chaosHelpText()}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${chaosHelpText()}\n`);
    return 0;
  }
  const seed = args.seed ?? randomInt(2 ** 31);
  process.stdout.write(`[chaos] seed ${seed}, ${args.durationMs} ms, faults ${args.faults.join(',') || 'none'}, ${args.clients} clients\n`);
  let report: ChaosReport;
  try {
    report = await runChaos({ seed, durationMs: args.durationMs, faults: args.faults, clients: args.clients, onProgress: args.quiet ? undefined : (l) => process.stdout.write(`${l}\n`) });
  } catch (err) {
    process.stderr.write(`[chaos] the run failed (seed ${seed}): ${(err as Error).stack ?? String(err)}\n`);
    return 3;
  }
  printReport(report);
  return report.result.valid ? 0 : 1;
}

function printReport(r: ChaosReport): void {
  const out = (l: string) => process.stdout.write(`[chaos] ${l}\n`);
  for (const e of r.events) out(`fault ${describeStep(e.step)}: healed after ${e.healedMs - e.startedMs} ms${e.error === null ? '' : ` (error: ${e.error})`}`);
  for (const x of r.unexpectedExits) out(`node exited by itself: ${x}`);
  const k = r.result.keys;
  out(`${r.attempts} requests (ok ${r.tally.ok}, verdicts ${r.tally.verdict}, refused ${r.tally.refused}, unknown ${r.tally.unknown}); keys ok ${k.ok}, failed ${k.failed}, unknown ${k.unknown}; ${r.result.confirmedOrders} confirmed orders; ${(r.elapsedMs / 1_000).toFixed(1)} s`);
  if (r.result.valid) {
    out(`PASS seed ${r.seed}: set, bank, holds and money checks hold`);
    return;
  }
  for (const v of r.result.violations) out(`VIOLATION ${v.check}: ${v.message}`);
  out(`FAIL seed ${r.seed}: replay with npm run chaos -- --seed ${r.seed}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(3);
  },
);
