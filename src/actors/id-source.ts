import { mulberry32 } from '../payments/mulberry32.js';
import { randomToken } from './random-token.js';

/**
 * Where new ids come from (STYLE.md habit 11): unguessable random tokens in production, a seeded sequence in a
 * simulation, so a run that failed replays with the same checkout and order ids.
 */
export interface IdSource {
  /** A base64url token of `bytes` bytes. */
  token(bytes: number): string;
}

export const randomIds: IdSource = { token: randomToken };

/** Tokens drawn from a seeded PRNG: the same seed gives the same ids. Never for production (guessable). */
export function seededIds(seed: number): IdSource {
  const next = mulberry32(seed);
  return {
    token(bytes) {
      const b = Buffer.allocUnsafe(bytes);
      for (let i = 0; i < bytes; i++) b[i] = Math.floor(next() * 256);
      return b.toString('base64url');
    },
  };
}
