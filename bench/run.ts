import { join } from 'node:path';
import { helpText, parseBenchArgs, UsageError, type BenchArgs } from './lib/cli-args.js';
import { preflightPostgres, preflightRedis, redactUrl } from './lib/databases.js';
import { gitCommit, machineInfo, utcDate, type ResultHeader } from './lib/result-header.js';
import { writeResultFiles } from './lib/results-files.js';
import type { BenchEnv } from './lib/run-contender.js';
import type { ScenarioResult } from './lib/run-record.js';
import { renderSummary } from './lib/summary.js';
import { scenarios } from './scenarios/index.js';

/**
 * `npm run bench`: the flash-sale bench suite (issue 3; procedure in bench/README.md). Runs each scenario against
 * boxoffice and the contenders on this machine, one (scenario, contender) at a time on a fresh database, prints
 * progress every second and a summary at the end, writes bench/results/<date>-<scenario>.{json,md,svg}, and exits
 * non-zero when any run failed a correctness check or could not run.
 */
const defaultAdminUrl = 'postgresql://postgres@127.0.0.1:5432/postgres';
const defaultRedisUrl = 'redis://127.0.0.1:6379';
/** Environment knobs the harness passes to every server when set (README "Configuration" documents each). */
const knobNames = [
  'DB_POOL_SIZE', 'JOURNAL_BATCH_ROWS', 'JOURNAL_BATCH_DELAY_MS', 'PARTITIONS', 'HOLD_TTL_MS', 'PASSIVATE_IDLE_MS',
  'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG',
] as const;
/** The issue's promise for --quick: each scenario in under this long. */
const quickScenarioSecondsMax = 120;
const repoRoot = join(__dirname, '..', '..');

async function main(argv: string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv, scenarios.map((s) => s.name));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${helpText(scenarios)}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${helpText(scenarios)}\n`);
    return 0;
  }
  const adminUrl = process.env['DATABASE_URL'] ?? defaultAdminUrl;
  const redisUrl = process.env['REDIS_URL'] ?? defaultRedisUrl;
  const knobs = Object.fromEntries(knobNames.flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
  const log = (line: string) => process.stdout.write(`${line}\n`);

  let postgres: string;
  let redis = 'not checked (neither redis-lua nor scale requested)';
  // Redis serves the redis-lua contender and the scale scenario's boxoffice cluster.
  const needsRedis = args.contenders.includes('redis-lua') || (args.scenarios.includes('scale') && args.contenders.includes('boxoffice'));
  try {
    postgres = await preflightPostgres(adminUrl);
    if (needsRedis) redis = await preflightRedis(redisUrl);
  } catch (err) {
    process.stderr.write(`bench: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  const now = new Date();
  const header: ResultHeader = {
    date: utcDate(now),
    command: `npm run bench --${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`,
    ...gitCommit(repoRoot),
    machine: machineInfo(),
    postgres,
    redis,
    quick: args.quick,
    knobs,
  };
  log(`bench: ${args.scenarios.join(', ')}${args.quick ? ' (quick)' : ''} against ${args.contenders.join(', ')}; boxoffice payments ${args.payments.join(', ')}`);
  log(`bench: commit ${header.commit.slice(0, 12)}${header.dirty ? ' (dirty)' : ''}; ${header.machine.cores} × ${header.machine.cpuModel}; PostgreSQL ${postgres} at ${redactUrl(adminUrl)}; Redis ${redis}`);

  const env: BenchEnv = { adminUrl, redisUrl, quick: args.quick, knobs, log };
  const results: ScenarioResult[] = [];
  let ok = true;
  for (const name of args.scenarios) {
    const scenario = scenarios.find((s) => s.name === name)!;
    const t0 = Date.now();
    log(`\n=== ${scenario.name}: ${scenario.description}`);
    const result = await scenario.run(env, { quick: args.quick, contenders: args.contenders, payments: args.payments });
    results.push(result);
    if (result.runs.length === 0) {
      // Nothing measured: say so, keep any earlier results files, and do not report success.
      log(`bench: ${scenario.name}: no runs (none of ${args.contenders.join(', ')} applies to it); no files written`);
      ok = false;
      continue;
    }
    const seconds = (Date.now() - t0) / 1000;
    const files = await writeResultFiles(join(repoRoot, 'bench', 'results'), header, result);
    log(`=== ${scenario.name} done in ${seconds.toFixed(0)} s; wrote ${files.map((f) => f.slice(repoRoot.length + 1)).join(', ')}`);
    if (args.quick && seconds > quickScenarioSecondsMax) log(`bench: warning: quick ${scenario.name} took ${seconds.toFixed(0)} s, over its ${quickScenarioSecondsMax} s budget`);
    if (result.runs.some((r) => r.status === 'failed' || r.status === 'error')) ok = false;
  }
  log(`\n${renderSummary(results)}`);
  log(ok ? '\nbench: every run passed its checks' : '\nbench: FAILED: a run failed a check or could not run, or nothing ran (see above and the results files)');
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
