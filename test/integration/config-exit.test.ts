import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureNodeBuilt, mainJs } from '../support/child-node.js';
import { repoRoot } from '../support/ensure-built.js';
import { runProcess } from '../support/run-process.js';

/** The node refuses a bad payment or cluster configuration at start: exit code 2 and a message naming the variable. */
describe('payment and cluster configuration at start', () => {
  beforeAll(() => ensureNodeBuilt(), 150_000);

  const start = (env: Record<string, string>) =>
    runProcess(process.execPath, [mainJs], { PATH: process.env['PATH'] ?? '', PORT: '0', DATA_DIR: join(repoRoot, 'data-never-created'), ...env }, 20_000);

  it.each([
    ['no STRIPE_API_KEY', { STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef' }, 'STRIPE_API_KEY'],
    ['no STRIPE_WEBHOOK_SECRET', { STRIPE_API_KEY: 'sk_test_0123456789abcdef' }, 'STRIPE_WEBHOOK_SECRET'],
    ['a publishable key', { STRIPE_API_KEY: 'pk_test_0123456789abcdef', STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef' }, 'STRIPE_API_KEY'],
    ['a malformed STRIPE_API_BASE', { STRIPE_API_KEY: 'sk_test_0123456789abcdef', STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef', STRIPE_API_BASE: 'ftp://stripe' }, 'STRIPE_API_BASE'],
  ])('stops with exit code 2 on PAYMENT_PROVIDER=stripe with %s', async (_label, env, variable) => {
    const run = await start({ PAYMENT_PROVIDER: 'stripe', ...env });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(variable);
  });

  it.each([
    ['no CLUSTER_SECRET', {}],
    ['a CLUSTER_SECRET under 32 characters', { CLUSTER_SECRET: 'short-secret' }],
  ])('stops with exit code 2 in cluster mode with %s', async (_label, env) => {
    const run = await start({ REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/never_used', ...env });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('CLUSTER_SECRET');
  });

  it('stops with exit code 2 on an IDEMPOTENCY_RETENTION_MS under 24 hours', async () => {
    const run = await start({ IDEMPOTENCY_RETENTION_MS: '3600000' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('IDEMPOTENCY_RETENTION_MS');
  });

  it('stops with exit code 2 on an unknown PAYMENT_PROVIDER', async () => {
    const run = await start({ PAYMENT_PROVIDER: 'paypal' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PAYMENT_PROVIDER');
  });
});
