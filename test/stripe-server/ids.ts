/**
 * Ids shaped like Stripe's: a prefix, an underscore and 24 base-62 characters (`pi_3PgafyB7WZ01zgkWSjxsAJo3`).
 * Randomness is injected (STYLE.md habit 11), so a test with a seeded source gets the same ids on every run.
 */
const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const idBodyLength = 24;

export type IdPrefix = 'pi' | 'ch' | 're' | 'evt' | 'req' | 'pm' | 'src';

export interface IdSource {
  id(prefix: IdPrefix): string;
  /** A PaymentIntent's client secret: `<pi id>_secret_<25 characters>`, as Stripe forms it. */
  clientSecret(piId: string): string;
}

export function createIdSource(random: () => number): IdSource {
  const chars = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i += 1) s += alphabet[Math.floor(random() * alphabet.length)];
    return s;
  };
  return {
    id: (prefix) => `${prefix}_${chars(idBodyLength)}`,
    clientSecret: (piId) => `${piId}_secret_${chars(25)}`,
  };
}
