import { describe, expect, it } from 'vitest';
import { paymentsTable, paymentsVariant } from '../../../bench/lib/payments-table.js';
import type { RunRecord } from '../../../bench/lib/run-record.js';
import { run } from './fixtures.js';

function flashRun(contender: RunRecord['contender'], base: string, payments: 'simulated' | 'stripe', metrics: Record<string, number | null>): RunRecord {
  const r = run(contender, paymentsVariant(base, payments), metrics, []);
  r.params = { payments };
  return r;
}

const simulated0 = { ordersPerSec: 2_000, orderP50Ms: 100, orderP99Ms: 200, orderP999Ms: 250, serverCpuPct: 80, serverCpuMsPerOrder: 0.4, machineBusyPct: 90 };
const stripe0 = { ordersPerSec: 1_000, orderP50Ms: 150, orderP99Ms: 500, orderP999Ms: 600, serverCpuPct: 90, serverCpuMsPerOrder: 0.9, stripeServerCpuPct: 60, stripeServerCpuMsPerOrder: 0.6, machineBusyPct: 99 };

describe('paymentsVariant', () => {
  it('keeps the plain variant name for the simulated provider and marks another one', () => {
    expect(paymentsVariant('stock=2000 pay=0ms', 'simulated')).toBe('stock=2000 pay=0ms');
    expect(paymentsVariant('80% of peak: stock=2000 pay=50ms', 'stripe')).toBe('80% of peak: stock=2000 pay=50ms payments=stripe');
  });
});

describe('paymentsTable', () => {
  it('puts each provider of a variant side by side with its figures ÷ the simulated provider', () => {
    const runs = [
      flashRun('boxoffice', 'stock=2000 pay=0ms', 'simulated', simulated0),
      flashRun('pg-conditional', 'stock=2000 pay=0ms', 'simulated', { ordersPerSec: 500 }),
      flashRun('boxoffice', 'stock=2000 pay=0ms', 'stripe', stripe0),
      flashRun('boxoffice', 'stock=2000 pay=50ms', 'simulated', { ...simulated0, ordersPerSec: 1_600 }),
      flashRun('boxoffice', 'stock=2000 pay=50ms', 'stripe', { ...stripe0, ordersPerSec: 1_200 }),
    ];
    const t = paymentsTable(runs)!;
    expect(t.head).toEqual([
      'variant', 'payments', 'status', 'orders/s', 'order p50 ms', 'order p99 ms', 'order p999 ms', 'node CPU % of a core', 'node CPU ms/order',
      'test server CPU % of a core', 'test server CPU ms/order', 'machine busy %', 'orders/s ÷ simulated', 'p50 ÷ simulated', 'p99 ÷ simulated', 'node CPU ms/order ÷ simulated',
    ]);
    expect(t.rows).toEqual([
      ['stock=2000 pay=0ms', 'simulated', 'passed', 2_000, 100, 200, 250, 80, 0.4, null, null, 90, null, null, null, null],
      ['stock=2000 pay=0ms', 'stripe', 'passed', 1_000, 150, 500, 600, 90, 0.9, 60, 0.6, 99, 0.5, 1.5, 2.5, 2.25],
      ['stock=2000 pay=50ms', 'simulated', 'passed', 1_600, 100, 200, 250, 80, 0.4, null, null, 90, null, null, null, null],
      ['stock=2000 pay=50ms', 'stripe', 'passed', 1_200, 150, 500, 600, 90, 0.9, 60, 0.6, 99, 0.75, 1.5, 2.5, 2.25],
    ]);
    expect(t.notes.join(' ')).toContain('÷ simulated');
  });

  it('has no ratio without a simulated run of the same variant or when a run errored, and shows the status', () => {
    const failed = flashRun('boxoffice', 'stock=2000 pay=0ms', 'stripe', stripe0);
    failed.status = 'failed';
    const errored = flashRun('boxoffice', 'stock=2000 pay=50ms', 'simulated', { ...simulated0 });
    errored.status = 'error';
    const t = paymentsTable([flashRun('boxoffice', 'stock=2000 pay=0ms', 'simulated', simulated0), failed, errored, flashRun('boxoffice', 'stock=2000 pay=50ms', 'stripe', stripe0), flashRun('boxoffice', 'stock=9 pay=0ms', 'stripe', stripe0)])!;
    const ratios = (row: Array<string | number | null>) => row.slice(-4);
    expect(t.rows.map((r) => r[2])).toEqual(['passed', 'FAILED', 'ERROR', 'passed', 'passed']);
    expect(ratios(t.rows[1]!)).toEqual([0.5, 1.5, 2.5, 2.25]); // a failed check still measured
    expect(ratios(t.rows[3]!)).toEqual([null, null, null, null]);
    expect(ratios(t.rows[4]!)).toEqual([null, null, null, null]);
  });

  it('leaves out columns nobody has and is null without a provider other than simulated', () => {
    const t = paymentsTable([flashRun('boxoffice', 'v', 'simulated', { ordersPerSec: 10 }), flashRun('boxoffice', 'v', 'stripe', { ordersPerSec: 5 })])!;
    expect(t.head).toEqual(['variant', 'payments', 'status', 'orders/s', 'orders/s ÷ simulated']);
    expect(t.rows).toEqual([['v', 'simulated', 'passed', 10, null], ['v', 'stripe', 'passed', 5, 0.5]]);
    expect(paymentsTable([flashRun('boxoffice', 'v', 'simulated', { ordersPerSec: 10 })])).toBeNull();
    expect(paymentsTable([run('boxoffice', 'v', { ordersPerSec: 10 }, [])])).toBeNull();
  });
});
