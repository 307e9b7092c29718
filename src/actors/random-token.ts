import { actorLimits } from '../config/limits.js';
import { randomFillSync } from 'node:crypto';

let pool = Buffer.alloc(0);
let offset = 0;

/** An unguessable token of `bytes` random bytes, base64url (16 bytes = 128 bits for order ids). */
export function randomToken(bytes: number): string {
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(actorLimits.randomPoolBytes));
    offset = 0;
  }
  const token = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return token;
}
