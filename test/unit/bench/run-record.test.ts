import { describe, expect, it } from 'vitest';
import { benchDatabaseName, redactUrl } from '../../../bench/lib/databases.js';
import { notRunRecord, ratiosFor } from '../../../bench/lib/run-record.js';
import { recordedEnv } from '../../../bench/lib/sidecar.js';
import { run } from './fixtures.js';

describe('ratiosFor', () => {
  it('divides boxoffice by each contender within a variant, null when either side has no value', () => {
    const runs = [
      run('boxoffice', 'a', { ordersPerSec: 1000, p99Ms: 10 }, []),
      run('pg-conditional', 'a', { ordersPerSec: 300, p99Ms: null }, []),
      run('redis-lua', 'a', { ordersPerSec: 0, p99Ms: 40 }, []),
      run('pg-conditional', 'b', { ordersPerSec: 1 }, []), // no boxoffice in b: no ratios
      notRunRecord({ scenario: 's', variant: 'a', params: {}, contender: 'pg-for-update' }, 'not run: reasons'),
    ];
    const ratios = ratiosFor(runs, [
      { name: 'ordersPerSec', higherIsBetter: true },
      { name: 'p99Ms', higherIsBetter: false },
    ]);
    expect(ratios.map((r) => [r.variant, r.contender, r.metric, r.ratio])).toEqual([
      ['a', 'pg-conditional', 'ordersPerSec', 3.33],
      ['a', 'pg-conditional', 'p99Ms', null],
      ['a', 'redis-lua', 'ordersPerSec', null],
      ['a', 'redis-lua', 'p99Ms', 0.25],
    ]);
  });
});

describe('bench database names and URLs', () => {
  it('are valid PostgreSQL identifiers of at most 63 bytes, whatever the label', () => {
    expect(benchDatabaseName('flash-hot_pg-conditional', 'ab12cd34')).toBe('bo_bench_flash_hot_pg_conditional_ab12cd34');
    const long = benchDatabaseName('x'.repeat(200), 'ab12cd34');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9_]+_ab12cd34$/);
    expect(benchDatabaseName('Ünïcode; DROP TABLE', '00')).toMatch(/^[a-z0-9_]+$/);
  });

  it('never print a password', () => {
    expect(redactUrl('postgresql://bench:s3cret@db:5432/postgres')).toBe('postgresql://bench:***@db:5432/postgres');
    expect(redactUrl('not a url')).toBe('(unparseable URL)');
  });
});

describe('recordedEnv', () => {
  it("keeps a server's settings but never a secret's value", () => {
    expect(recordedEnv({ PAYMENT_PROVIDER: 'stripe', STRIPE_API_KEY: 'sk_test_x', SIM_PAYMENT_LATENCY_MS: '0' }, ['STRIPE_API_KEY', 'STRIPE_WEBHOOK_SECRET'])).toEqual({
      PAYMENT_PROVIDER: 'stripe',
      STRIPE_API_KEY: '(set, not recorded)',
      SIM_PAYMENT_LATENCY_MS: '0',
    });
  });
});
