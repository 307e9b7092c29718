import { describe, expect, it } from 'vitest';
import { decodeForm } from '../../stripe-server/form.js';
import { stripeServerLimits } from '../../stripe-server/limits.js';

/** Stripe's form encoding as stripe-node and curl users write it (test/stripe-server/form.ts). */
describe('decodeForm', () => {
  const decode = (text: string) => decodeForm(text, stripeServerLimits);

  it.each([
    ['scalars', 'amount=1000&currency=usd', { amount: '1000', currency: 'usd' }],
    ['nested objects', 'metadata[order_id]=o-1&metadata[checkout_id]=c-1', { metadata: { order_id: 'o-1', checkout_id: 'c-1' } }],
    ['two levels', 'automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never', {
      automatic_payment_methods: { enabled: 'true', allow_redirects: 'never' },
    }],
    ['indexed arrays (stripe-node)', 'payment_method_types[0]=card&payment_method_types[1]=link', { payment_method_types: ['card', 'link'] }],
    ['indexed arrays out of order', 'expand[1]=b&expand[0]=a', { expand: ['a', 'b'] }],
    ['appended arrays (curl)', 'payment_method_types[]=card&payment_method_types[]=link', { payment_method_types: ['card', 'link'] }],
    ['percent-encoded brackets', 'metadata%5Border_id%5D=o-1', { metadata: { order_id: 'o-1' } }],
    ['encoded values', "query=metadata%5B'order_id'%5D%3A'o%201'", { query: "metadata['order_id']:'o 1'" }],
    ['the last of a repeated key', 'currency=usd&currency=eur', { currency: 'eur' }],
    ['an empty body', '', {}],
    ['__proto__ as an ordinary name', 'metadata[__proto__]=x', { metadata: { ['__proto__']: 'x' } }],
  ])('decodes %s', (_name, text, expected) => {
    const r = decode(text);
    expect(r.ok).toBe(true);
    if (r.ok) expect(JSON.parse(JSON.stringify(r.params))).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('keeps __proto__ from reaching Object.prototype', () => {
    decode('__proto__[polluted]=yes&metadata[__proto__][x]=1');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a value that is also a parent', 'a=1&a[b]=2'],
    ['a parent that is also a value', 'a[b]=2&a=1'],
    ['an append mixed with an index', 'a[]=x&a[0]=y'],
    ['an append in the middle of a key', 'a[][b]=1'],
    ['an unbalanced bracket', 'a[b=1'],
    ['an empty name', '=1'],
  ])('refuses %s', (_name, text) => {
    expect(decode(text).ok).toBe(false);
  });

  it.each([
    ['more fields than paramsCountMax', { paramsCountMax: 2 }, 'a=1&b=2&c=3'],
    ['a key longer than paramKeyLengthMax', { paramKeyLengthMax: 5 }, 'abcdef=1'],
    ['deeper nesting than paramDepthMax', { paramDepthMax: 2 }, 'a[b][c]=1'],
    ['a value longer than paramValueLengthMax', { paramValueLengthMax: 3 }, 'a=abcd'],
  ])('refuses %s', (_name, override, text) => {
    expect(decodeForm(text, { ...stripeServerLimits, ...override }).ok).toBe(false);
    expect(decodeForm(text, stripeServerLimits).ok).toBe(true);
  });
});
