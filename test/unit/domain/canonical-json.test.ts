import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/domain/canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, { z: null, y: 'x' }], c: true } }))
      .toBe('{"a":{"c":true,"d":[3,1,{"y":"x","z":null}]},"b":1}');
  });

  it('serialises equal values built in different key orders to the same string', () => {
    expect(canonicalJson({ x: 1, y: [{ p: 1, q: 2 }] })).toBe(canonicalJson({ y: [{ q: 2, p: 1 }], x: 1 }));
  });

  it('keeps a __proto__ key as data', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"b":1,"a":2}}'))).toBe('{"__proto__":{"a":2,"b":1}}');
  });

  it.each([
    ['undefined', { a: undefined }],
    ['NaN', [Number.NaN]],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a function', { f: () => 1 }],
    ['a bigint', 1n],
  ])('asserts on %s, which JSON would drop or mangle', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow();
  });
});
