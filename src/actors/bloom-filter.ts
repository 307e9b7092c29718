/**
 * A Bloom filter of idempotency keys this node has stored or started. A "no" is certain, so a checkout with a
 * fresh key skips the database lookup entirely (the hot path does no round trip per request); a "maybe" looks
 * the key up. Sized for millions of keys at about 1% false positives; one generation of KnownKeys.
 */
export class BloomFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;

  constructor(log2Bits = 26, private readonly hashes = 7) {
    this.bits = new Uint32Array(2 ** (log2Bits - 5));
    this.mask = 2 ** log2Bits - 1;
  }

  add(key: string): void {
    hashPair(key);
    this.addHashed();
  }

  mightContain(key: string): boolean {
    hashPair(key);
    return this.mightContainHashed();
  }

  private addHashed(): void {
    const h1 = pair[0]!;
    const h2 = pair[1]!;
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  private mightContainHashed(): boolean {
    const h1 = pair[0]!;
    const h2 = pair[1]!;
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** What the checkout path needs of the known keys (a KnownKeys, or one BloomFilter in tests). */
export interface KeyFilter {
  add(key: string): void;
  mightContain(key: string): boolean;
}

/**
 * Known idempotency keys over the retention window, as rotating Bloom filter generations: keys go into the newest;
 * a lookup asks every generation; `rotate()` (every retention / (generations - 1)) drops the oldest and starts an
 * empty one. A key stays known for at least the retention window (as long as the database keeps its record), and
 * memory stays bounded: the filter never fills up over a long sale, so its "no" stays useful.
 */
export class KnownKeys {
  private generations: BloomFilter[];

  constructor(
    private readonly generationsMax = 3,
    private readonly log2Bits = 26,
  ) {
    if (!(Number.isInteger(generationsMax) && generationsMax >= 2)) throw new RangeError(`generationsMax must be an integer >= 2, got ${generationsMax}`);
    this.generations = [new BloomFilter(log2Bits)];
  }

  add(key: string): void {
    this.generations[this.generations.length - 1]!.add(key);
  }

  mightContain(key: string): boolean {
    for (let i = this.generations.length - 1; i >= 0; i--) if (this.generations[i]!.mightContain(key)) return true;
    return false;
  }

  /** Starts a new generation; the oldest goes once there are more than generationsMax. */
  rotate(): void {
    this.generations.push(new BloomFilter(this.log2Bits));
    if (this.generations.length > this.generationsMax) this.generations.shift();
  }

  /** How often to rotate for a key to stay known for `retentionMs`. */
  rotateEveryMs(retentionMs: number): number {
    return Math.ceil(retentionMs / (this.generationsMax - 1));
  }
}

/** The two base hashes of the key hashed last (one reused pair: no allocation per lookup). */
const pair = new Uint32Array(2);

function hashPair(key: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  pair[0] = a >>> 0;
  pair[1] = (b | 1) >>> 0;
}
