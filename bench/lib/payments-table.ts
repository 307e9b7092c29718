import type { ResultTable, RunRecord } from './run-record.js';
import type { PaymentProviderKind } from './servers.js';

/**
 * flash-hot with `--payments simulated,stripe`: boxoffice's runs with each payment provider side by side, per variant
 * (stock, payment latency, open or paced), with each provider's figures ÷ the simulated provider's from the same
 * command — what the Stripe adapter costs. Pure: built from the run records.
 */

/** The simulated provider keeps the plain variant name (as every earlier result); another gets ` payments=<name>`. */
export function paymentsVariant(base: string, payments: PaymentProviderKind): string {
  return payments === 'simulated' ? base : `${base} payments=${payments}`;
}

interface Column {
  head: string;
  value(run: RunRecord, simulated: RunRecord | undefined): string | number | null;
}

const metric = (name: string) => (run: RunRecord) => run.metrics[name] ?? null;

/** run ÷ simulated for one metric, two decimals; null on the simulated row itself or when either side is missing. */
const versusSimulated = (name: string) => (run: RunRecord, simulated: RunRecord | undefined) => {
  if (simulated === undefined || simulated === run) return null;
  const a = run.metrics[name] ?? null;
  const b = simulated.metrics[name] ?? null;
  return a !== null && b !== null && b !== 0 && run.status !== 'error' && simulated.status !== 'error' ? Math.round((a / b) * 100) / 100 : null;
};

const columns: Column[] = [
  { head: 'orders/s', value: metric('ordersPerSec') },
  { head: 'order p50 ms', value: metric('orderP50Ms') },
  { head: 'order p99 ms', value: metric('orderP99Ms') },
  { head: 'order p999 ms', value: metric('orderP999Ms') },
  { head: 'order p99 after warm-up ms', value: metric('orderP99AfterWarmupMs') },
  { head: 'node CPU % of a core', value: metric('serverCpuPct') },
  { head: 'node CPU ms/order', value: metric('serverCpuMsPerOrder') },
  { head: 'test server CPU % of a core', value: metric('stripeServerCpuPct') },
  { head: 'test server CPU ms/order', value: metric('stripeServerCpuMsPerOrder') },
  { head: 'machine busy %', value: metric('machineBusyPct') },
  { head: 'orders/s ÷ simulated', value: versusSimulated('ordersPerSec') },
  { head: 'p50 ÷ simulated', value: versusSimulated('orderP50Ms') },
  { head: 'p99 ÷ simulated', value: versusSimulated('orderP99Ms') },
  { head: 'node CPU ms/order ÷ simulated', value: versusSimulated('serverCpuMsPerOrder') },
];

/** The comparison table, or null when no boxoffice run used a provider other than the simulated one. */
export function paymentsTable(runs: RunRecord[]): ResultTable | null {
  const box = runs.filter((r) => r.contender === 'boxoffice' && r.status !== 'not-run' && typeof r.params['payments'] === 'string');
  if (!box.some((r) => r.params['payments'] !== 'simulated')) return null;
  const baseOf = (r: RunRecord) => r.variant.replace(/ payments=[a-z]+$/, '');
  const bases = [...new Set(box.map(baseOf))];
  const rows = bases.flatMap((base) => {
    const inBase = box.filter((r) => baseOf(r) === base);
    const simulated = inBase.find((r) => r.params['payments'] === 'simulated');
    return inBase.map((r) => ({ r, simulated }));
  });
  // A column with nothing in it (CPU off Linux, after-warm-up p99 without paced runs) is left out.
  const used = columns.filter((c) => rows.some(({ r, simulated }) => c.value(r, simulated) !== null));
  return {
    title: 'boxoffice by payment provider (what the Stripe adapter costs)',
    head: ['variant', 'payments', 'status', ...used.map((c) => c.head)],
    rows: rows.map(({ r, simulated }) => [baseOf(r), String(r.params['payments']), r.status === 'passed' ? 'passed' : r.status.toUpperCase(), ...used.map((c) => c.value(r, simulated))]),
    notes: [
      "simulated: boxoffice's in-process simulated provider (SIM_PAYMENT_LATENCY_MS = pay). stripe: boxoffice's Stripe adapter (the stripe SDK: PaymentIntents with manual capture, one call per checkout) against the Stripe test server started for the run in a process of its own on the same cores, answering after pay ms (its latencyMs); webhooks are not sent.",
      '÷ simulated: the row\'s figure divided by the simulated provider\'s in the same variant of the same command; below 1 for orders/s and above 1 for latency and CPU is what the adapter costs.',
      'CPU: from /proc over the sale (from the load\'s start to its last order), % of one core; machine busy % is of all cores (the node, PostgreSQL, the load worker and the test server share them).',
    ],
  };
}
