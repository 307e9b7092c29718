import { randomFillSync } from 'node:crypto';

/** Random bytes are drawn from the CSPRNG in blocks: one system call per block instead of one per id. */
const poolBytes = 64 * 1024;
let pool = Buffer.alloc(0);
let offset = 0;

/** An unguessable token of `bytes` random bytes, base64url (16 bytes = 128 bits for order ids). */
export function randomToken(bytes: number): string {
  if (offset + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(poolBytes));
    offset = 0;
  }
  const token = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return token;
}
