import { describe, expect, it } from 'vitest';
import { schemaProblems, type Schema } from '../../support/json-schema-check.js';

/** The checker the contract tests validate answers with: it must refuse what a schema refuses, or they prove nothing. */
describe('schemaProblems', () => {
  const cart: Schema = {
    type: 'object',
    properties: {
      cartId: { type: 'string', minLength: 1, maxLength: 4 },
      status: { type: 'string', enum: ['open', 'checked_out'] },
      qty: { type: 'integer', minimum: 0, maximum: 10 },
      promoCode: { anyOf: [{ type: 'string', pattern: '^[A-Z]+$' }, { type: 'null' }] },
      lines: { type: 'array', minItems: 1, items: { type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'], additionalProperties: false } },
    },
    required: ['cartId', 'status'],
    additionalProperties: false,
  };
  const valid = { cartId: 'c1', status: 'open', qty: 3, promoCode: null, lines: [{ sku: 'A' }] };

  it('accepts a value that conforms', () => {
    expect(schemaProblems(cart, valid)).toEqual([]);
    expect(schemaProblems(cart, { ...valid, promoCode: 'TEN' })).toEqual([]);
  });

  it.each([
    ['a wrong type', { ...valid, cartId: 7 }, '$.cartId: expected string'],
    ['a missing required property', { status: 'open' }, "$: missing required 'cartId'"],
    ['an undocumented property', { ...valid, extra: 1 }, '$.extra: not a documented property'],
    ['a value outside the enum', { ...valid, status: 'closed' }, '$.status: "closed" is not one of'],
    ['a fraction where an integer is due', { ...valid, qty: 1.5 }, '$.qty: expected integer'],
    ['a number above the maximum', { ...valid, qty: 11 }, '$.qty: 11 > maximum 10'],
    ['a number below the minimum', { ...valid, qty: -1 }, '$.qty: -1 < minimum 0'],
    ['a string too long', { ...valid, cartId: 'abcde' }, '$.cartId: longer than 4'],
    ['a string too short', { ...valid, cartId: '' }, '$.cartId: shorter than 1'],
    ['a string off its pattern', { ...valid, promoCode: 'ten' }, '$.promoCode: string "ten" matches none of anyOf'],
    ['too few items', { ...valid, lines: [] }, '$.lines: fewer than 1 items'],
    ['a bad item', { ...valid, lines: [{ sku: 'A', qty: 1 }] }, '$.lines[0].qty: not a documented property'],
    ['null for an object', null, '$: expected object, got null'],
    ['an empty body', undefined, '$: expected object'],
  ])('refuses %s', (_name, value, problem) => {
    expect(schemaProblems(cart, value).join('\n')).toContain(problem);
  });

  it('checks const, oneOf, allOf, not, exclusive bounds and property names', () => {
    expect(schemaProblems({ const: true }, false)).toHaveLength(1);
    expect(schemaProblems({ oneOf: [{ type: 'integer' }, { type: 'number' }] }, 1)).toHaveLength(1);
    expect(schemaProblems({ oneOf: [{ type: 'integer' }, { type: 'string' }] }, 1)).toEqual([]);
    expect(schemaProblems({ allOf: [{ type: 'integer' }, { minimum: 2 }] }, 1)).toHaveLength(1);
    expect(schemaProblems({ not: { type: 'string' } }, 'a')).toHaveLength(1);
    expect(schemaProblems({ exclusiveMinimum: 0 }, 0)).toHaveLength(1);
    expect(schemaProblems({ exclusiveMaximum: 5 }, 5)).toHaveLength(1);
    expect(schemaProblems({ type: 'object', propertyNames: { pattern: '^[a-z]+$' }, additionalProperties: {} }, { Bad: 1 })).toHaveLength(1);
  });

  it('follows local references into the root document', () => {
    const root = { components: { schemas: { Code: { type: 'string', enum: ['A'] } } } };
    expect(schemaProblems({ $ref: '#/components/schemas/Code' }, 'A', root)).toEqual([]);
    expect(schemaProblems({ $ref: '#/components/schemas/Code' }, 'B', root)).toHaveLength(1);
  });

  it('reports a keyword it cannot check instead of passing the value', () => {
    expect(schemaProblems({ type: 'string', format: 'date-time', contentEncoding: 'base64' }, 'x')).toEqual(["$: the checker does not know the keyword 'contentEncoding'"]);
  });
});
