/**
 * int8 parser shared by both drivers. Every bigint column boxoffice owns (money in minor units, sequence numbers,
 * epochs, counts) stays far below 2^53 (see limits.ts), so a larger value is a bug and throws instead of silently
 * losing precision or turning into a BigInt that JSON.stringify cannot handle.
 */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${text} is not a safe JavaScript integer`);
  return n;
}
