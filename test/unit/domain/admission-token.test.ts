import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signAdmission, verifyAdmission } from '../../../src/domain/admission-token.js';

const key = Buffer.alloc(32, 7);
const claims = { sku: 'DROP-1', customerId: 'cust-1', ticket: 'tk_abc', expiresAtMs: 1_000_000 };

describe('admission tokens', () => {
  it('verify with the key they were signed with, before they expire', () => {
    const token = signAdmission(key, claims);
    expect(verifyAdmission(key, token, 'DROP-1', 999_999)).toEqual({ ok: true, claims });
  });

  it('are a pure function of the claims and the key (a poll re-derives the same token)', () => {
    expect(signAdmission(key, claims)).toBe(signAdmission(key, { ...claims }));
    expect(signAdmission(key, claims)).not.toBe(signAdmission(Buffer.alloc(32, 8), claims));
  });

  it('expire at expiresAtMs', () => {
    const token = signAdmission(key, claims);
    expect(verifyAdmission(key, token, 'DROP-1', 1_000_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('are refused for another SKU', () => {
    expect(verifyAdmission(key, signAdmission(key, claims), 'DROP-2', 0)).toEqual({ ok: false, reason: 'sku' });
  });

  it('are refused under another key', () => {
    expect(verifyAdmission(Buffer.alloc(32, 9), signAdmission(key, claims), 'DROP-1', 0)).toEqual({ ok: false, reason: 'signature' });
  });

  it('are refused when the payload is changed (a longer expiry, another customer)', () => {
    const [v, , mac] = signAdmission(key, claims).split('.');
    for (const forged of [{ ...claims, expiresAtMs: 9e15 }, { ...claims, customerId: 'cust-2' }]) {
      const payload = Buffer.from(JSON.stringify({ s: forged.sku, c: forged.customerId, t: forged.ticket, e: forged.expiresAtMs })).toString('base64url');
      expect(verifyAdmission(key, `${v}.${payload}.${mac}`, 'DROP-1', 0)).toEqual({ ok: false, reason: 'signature' });
    }
  });

  it('are refused when the mac is changed by one character', () => {
    const token = signAdmission(key, claims);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(verifyAdmission(key, token.slice(0, -1) + last, 'DROP-1', 0).ok).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['no dots', 'abc'],
    ['another version', 'v2.e30.AAAA'],
    ['four parts', 'v1.a.b.c'],
    ['a mac of the wrong length', 'v1.e30.AAAA'],
  ])('are refused when malformed: %s', (_name, token) => {
    expect(verifyAdmission(key, token, 'DROP-1', 0).ok).toBe(false);
  });

  it('are refused when correctly signed but not a claims object', () => {
    const payload = Buffer.from('[1,2]').toString('base64url');
    const mac = createHmac('sha256', key).update(`v1.${payload}`).digest('base64url');
    expect(verifyAdmission(key, `v1.${payload}.${mac}`, 'DROP-1', 0)).toEqual({ ok: false, reason: 'malformed' });
  });
});
