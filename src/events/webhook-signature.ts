import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The `Boxoffice-Signature` header of an outgoing webhook: `t=<unix seconds>,v1=<hex HMAC-SHA256>`, the HMAC keyed
 * with the endpoint's secret (the string, as given at registration) over `<t>.<body>` — Stripe's scheme, so a
 * receiver checks the timestamp (replays) and the body (tampering) with one comparison.
 */
export const signatureHeader = 'boxoffice-signature';

export function signWebhook(secret: string, body: string, tSeconds: number): string {
  return `t=${tSeconds},v1=${hmacHex(secret, tSeconds, body)}`;
}

/** A receiver's check: the header parses, its HMAC matches, and its time is within `toleranceSeconds` of `nowSeconds`. */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined, nowSeconds: number, toleranceSeconds = 300): boolean {
  const m = header === undefined ? null : /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header);
  if (m === null) return false;
  const t = Number(m[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  return timingSafeEqual(Buffer.from(m[2]!, 'hex'), Buffer.from(hmacHex(secret, t, body), 'hex'));
}

function hmacHex(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}
