import { describe, expect, it } from 'vitest';
import { nextAttemptAtMs, retryDelayMs } from '../../../src/events/retry-delay.js';
import { signWebhook, verifyWebhookSignature } from '../../../src/events/webhook-signature.js';
import { createHmac } from 'node:crypto';
import { seededRng } from '../../support/seeded-random.js';

describe('the webhook retry delay', () => {
  it.each([
    [1, 0, 500], [1, 0.999, 1000], [2, 0, 1000], [3, 0.5, 3000], [20, 0, 150_000], [20, 0.9999, 299_985], [10_000, 0.5, 225_000],
  ])('attempt %i with random %f waits %i ms (base 1000, doubling, at most 5 min, equal jitter)', (attempt, random, expected) => {
    expect(retryDelayMs(attempt, 1_000, 300_000, random)).toBe(expected);
  });

  it('stays within half the step and the step, for any random draw', () => {
    const rng = seededRng(42);
    for (let attempt = 1; attempt < 40; attempt++) {
      const step = Math.min(1_000 * 2 ** (attempt - 1), 300_000);
      const d = retryDelayMs(attempt, 1_000, 300_000, rng());
      expect(d).toBeGreaterThanOrEqual(step / 2);
      expect(d).toBeLessThanOrEqual(step);
    }
  });

  it('parks once the first attempt is WEBHOOK_RETRY_MAX_AGE_MS old, or when the next retry would come later', () => {
    const base = { firstAttemptAtMs: 0, baseMs: 1_000, maxMs: 300_000, maxAgeMs: 86_400_000, random: 0 };
    expect(nextAttemptAtMs({ ...base, attempt: 1, nowMs: 0 })).toBe(500);
    expect(nextAttemptAtMs({ ...base, attempt: 30, nowMs: 86_400_000 })).toBeNull();
    expect(nextAttemptAtMs({ ...base, attempt: 30, nowMs: 86_400_000 - 1_000 })).toBeNull();
    expect(nextAttemptAtMs({ ...base, attempt: 30, nowMs: 1_000 })).toBe(151_000);
  });
});

describe('the Boxoffice-Signature header', () => {
  const secret = 'whsec_test_secret';
  const body = '{"id":"e1","type":"order.confirmed"}';

  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 keyed with the secret string, of "<t>.<body>">', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signWebhook(secret, body, 1_700_000_000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it.each([
    ['accepts a good signature', signWebhook(secret, body, 1_000), 1_000, true],
    ['refuses a tampered body', signWebhook(secret, `${body} `, 1_000), 1_000, false],
    ['refuses another secret', signWebhook('whsec_other', body, 1_000), 1_000, false],
    ['refuses a stale timestamp', signWebhook(secret, body, 1_000), 1_000 + 301, false],
    ['refuses no header', undefined, 1_000, false],
    ['refuses a malformed header', 'v1=abc', 1_000, false],
  ])('%s', (_name, header, now, ok) => {
    expect(verifyWebhookSignature(secret, body, header, now)).toBe(ok);
  });
});
