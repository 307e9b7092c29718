import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Mutual authentication of a node-to-node connection with the cluster's shared secret (CLUSTER_SECRET): an HMAC
 * challenge-response over fresh nonces from both sides, so neither a passive listener nor a replay of an earlier
 * handshake gets in, and each side proves it knows the secret without sending it.
 *
 *   server → client   CHALLENGE serverNonce
 *   client → server   HELLO nodeId, version, clientNonce, HMAC(secret, "hello",   serverNonce, clientNonce, nodeId, serverId)
 *   server → client   WELCOME serverId,                   HMAC(secret, "welcome", clientNonce, serverNonce, nodeId, serverId)
 *
 * The server executes nothing before a HELLO that verifies; the client sends no request before a WELCOME that
 * verifies and names the node it dialed. Each MAC names both ends, so a HELLO made for one node (say, a node that a
 * forged membership record made a peer dial) cannot be relayed to another. Fields are length-prefixed so no two inputs
 * share an encoding.
 */

export const nonceBytes = 32;
const macBytes = 32;

export function newNonce(): Buffer {
  return randomBytes(nonceBytes);
}

function mac(secret: string, label: string, fields: (Buffer | string)[]): Buffer {
  const h = createHmac('sha256', secret);
  h.update(`boxoffice-cluster/${label}\0`);
  for (const f of fields) {
    const bytes = typeof f === 'string' ? Buffer.from(f, 'utf8') : f;
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length, 0);
    h.update(len);
    h.update(bytes);
  }
  return h.digest();
}

/** The client's proof, for the server it means to reach (`serverId`): a relay to any other node fails. */
export function helloMac(secret: string, serverNonce: Buffer, clientNonce: Buffer, clientId: string, serverId: string): Buffer {
  return mac(secret, 'hello', [serverNonce, clientNonce, clientId, serverId]);
}

export function welcomeMac(secret: string, clientNonce: Buffer, serverNonce: Buffer, clientId: string, serverId: string): Buffer {
  return mac(secret, 'welcome', [clientNonce, serverNonce, clientId, serverId]);
}

/** A nonce as received: exactly nonceBytes bytes. */
export function isNonce(v: unknown): v is Buffer {
  return v instanceof Uint8Array && v.length === nonceBytes;
}

/** Compares a received MAC with the expected one in constant time; anything malformed is false. */
export function macMatches(received: unknown, expected: Buffer): boolean {
  return received instanceof Uint8Array && received.length === macBytes && timingSafeEqual(received, expected);
}
