import { describe, expect, it } from 'vitest';
import { KnownKeys } from '../../../src/actors/bloom-filter.js';

describe('known keys (rotating Bloom filter generations)', () => {
  it('keeps a key known through generationsMax - 1 rotations, then forgets it', () => {
    const keys = new KnownKeys(3, 16);
    keys.add('k-old');
    keys.rotate();
    keys.add('k-mid');
    keys.rotate();
    // Two rotations after it was added, within the retention window: still known.
    expect([keys.mightContain('k-old'), keys.mightContain('k-mid')]).toEqual([true, true]);
    keys.rotate();
    expect([keys.mightContain('k-old'), keys.mightContain('k-mid')]).toEqual([false, true]);
    keys.rotate();
    expect(keys.mightContain('k-mid')).toBe(false);
  });

  it('rotates often enough that a key stays known for the whole retention window', () => {
    const day = 24 * 60 * 60 * 1000;
    expect(new KnownKeys(3).rotateEveryMs(2 * day)).toBe(day);
    expect(new KnownKeys(5).rotateEveryMs(2 * day)).toBe(day / 2);
    expect(() => new KnownKeys(1)).toThrow(RangeError);
  });

  it('stays useful under a long stream of keys: old generations go, so the newest answer no for fresh keys', () => {
    const keys = new KnownKeys(2, 12); // 4,096 bits a generation: one generation of 2,000 keys is nearly full
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 2_000; i++) keys.add(`r${round}-${i}`);
      keys.rotate();
    }
    let falsePositives = 0;
    for (let i = 0; i < 1_000; i++) if (keys.mightContain(`fresh-${i}`)) falsePositives++;
    // Only the last full generation and an empty one remain: without rotation 20,000 keys would saturate the bits.
    expect(falsePositives).toBeLessThan(900);
  });
});
