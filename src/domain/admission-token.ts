import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Admission tokens (docs/drops.md): `v1.<payload>.<mac>`, the payload base64url JSON `{ s: sku, c: customerId,
 * t: ticket, e: expiresAtMs }` and the mac HMAC-SHA256 of `v1.<payload>` under the drop's key (32 random bytes kept
 * in the drop's row, so every node of a cluster, and this node after a restart, verifies what any node signed).
 * A token is a pure function of its fields and the key, so a ticket's owner re-derives it on every poll and never
 * stores it.
 */
export interface AdmissionClaims {
  sku: string;
  customerId: string;
  ticket: string;
  expiresAtMs: number;
}

const version = 'v1';

export function signAdmission(key: Uint8Array, claims: AdmissionClaims): string {
  const payload = Buffer.from(JSON.stringify({ s: claims.sku, c: claims.customerId, t: claims.ticket, e: claims.expiresAtMs })).toString('base64url');
  return `${version}.${payload}.${mac(key, payload)}`;
}

export type AdmissionCheck = { ok: true; claims: AdmissionClaims } | { ok: false; reason: 'malformed' | 'signature' | 'sku' | 'expired' };

/** Checks the mac first (constant time), then the SKU and the expiry against `nowMs`. */
export function verifyAdmission(key: Uint8Array, token: string, sku: string, nowMs: number): AdmissionCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== version) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(parts[2]!, 'base64url');
  const expected = Buffer.from(mac(key, parts[1]!), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
  const claims = parseClaims(parts[1]!);
  if (claims === null) return { ok: false, reason: 'malformed' };
  if (claims.sku !== sku) return { ok: false, reason: 'sku' };
  if (nowMs >= claims.expiresAtMs) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

function mac(key: Uint8Array, payload: string): string {
  return createHmac('sha256', key).update(`${version}.${payload}`).digest('base64url');
}

function parseClaims(payload: string): AdmissionClaims | null {
  try {
    const p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof p['s'] !== 'string' || typeof p['c'] !== 'string' || typeof p['t'] !== 'string' || typeof p['e'] !== 'number') return null;
    return { sku: p['s'], customerId: p['c'], ticket: p['t'], expiresAtMs: p['e'] };
  } catch {
    return null;
  }
}
