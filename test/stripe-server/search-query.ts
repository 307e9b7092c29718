import type Stripe from 'stripe';

/**
 * Stripe's search query language (https://docs.stripe.com/search#search-query-language), the part that applies
 * to PaymentIntents:
 *
 *   metadata['order_id']:'o-1'        exact match (quotes ' or ", backslash escapes the quote)
 *   metadata["order_id"]:null         the key is absent
 *   status:'requires_capture'  currency:'usd'  customer:'cus_1'
 *   amount>1000  amount<=500  created>=1700000000  amount:1000
 *   -status:'canceled'                negation
 *   clause AND clause …  or  clause OR clause …   (at most `clausesMax`; AND and OR cannot be mixed)
 *
 * String matches ignore case, as the docs say of `:`. Anything else is refused with a message, as Stripe
 * refuses a query it cannot parse (400 invalid_request_error, param query).
 */
export type SearchField = { kind: 'metadata'; key: string } | { kind: 'string'; name: 'status' | 'currency' | 'customer' } | { kind: 'number'; name: 'amount' | 'created' };
export type SearchOperator = ':' | '>' | '<' | '>=' | '<=' | '=';

export interface SearchClause {
  negate: boolean;
  field: SearchField;
  op: SearchOperator;
  /** null stands for the `null` literal (metadata key absent). */
  value: string | number | null;
}

export interface SearchQuery {
  join: 'AND' | 'OR';
  clauses: SearchClause[];
}

export type ParsedQuery = { ok: true; query: SearchQuery } | { ok: false; message: string };

const stringFields = ['status', 'currency', 'customer'] as const;
const numberFields = ['amount', 'created'] as const;
const clausePattern =
  /^\s*(-)?(?:metadata\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]|([a-z_]+))\s*(>=|<=|:|>|<|=)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?[0-9]+)|(null))/;

export function parseSearchQuery(text: string, clausesMax: number): ParsedQuery {
  const clauses: SearchClause[] = [];
  const joins = new Set<'AND' | 'OR'>();
  let rest = text;
  for (;;) {
    const m = clausePattern.exec(rest);
    if (m === null) return { ok: false, message: `Unsupported or malformed search query near: ${rest.trim().slice(0, 40) || '(end of query)'}` };
    const clause = toClause(m);
    if (typeof clause === 'string') return { ok: false, message: clause };
    clauses.push(clause);
    if (clauses.length > clausesMax) return { ok: false, message: `A search query has at most ${clausesMax} clauses.` };
    rest = rest.slice(m[0].length);
    if (rest.trim() === '') break;
    const j = /^\s+(AND|OR)\s+/.exec(rest);
    if (j === null) return { ok: false, message: `Expected AND or OR near: ${rest.trim().slice(0, 40)}` };
    joins.add(j[1] as 'AND' | 'OR');
    rest = rest.slice(j[0].length);
  }
  if (joins.size > 1) return { ok: false, message: 'A search query cannot combine AND and OR.' };
  return { ok: true, query: { join: joins.has('OR') ? 'OR' : 'AND', clauses } };
}

function toClause(m: RegExpExecArray): SearchClause | string {
  const [, minus, metaSingle, metaDouble, name, op, strSingle, strDouble, num, nul] = m;
  const str = unescape(strSingle ?? strDouble);
  const value = str ?? (num !== undefined ? Number(num) : nul !== undefined ? null : undefined);
  if (value === undefined) return 'Missing value in search query.';
  const negate = minus !== undefined;
  const metaKey = unescape(metaSingle ?? metaDouble);
  if (metaKey !== undefined) {
    if (op !== ':' || typeof value === 'number') return `Metadata in a search query is matched with : and a quoted string or null.`;
    return { negate, field: { kind: 'metadata', key: metaKey }, op, value };
  }
  if ((stringFields as readonly string[]).includes(name!)) {
    if (op !== ':' || typeof value !== 'string') return `The field ${name} is matched with : and a quoted string.`;
    return { negate, field: { kind: 'string', name: name as (typeof stringFields)[number] }, op, value };
  }
  if ((numberFields as readonly string[]).includes(name!)) {
    if (typeof value !== 'number') return `The field ${name} is compared with a number.`;
    return { negate, field: { kind: 'number', name: name as (typeof numberFields)[number] }, op: op as SearchOperator, value };
  }
  return `Field ${name} is not a search field of PaymentIntents (amount, created, currency, customer, metadata, status).`;
}

function unescape(s: string | undefined): string | undefined {
  return s?.replace(/\\(.)/g, '$1');
}

export function matchesQuery(pi: Stripe.PaymentIntent, query: SearchQuery): boolean {
  const results = query.clauses.map((c) => matchesClause(pi, c) !== c.negate);
  return query.join === 'AND' ? results.every(Boolean) : results.some(Boolean);
}

function matchesClause(pi: Stripe.PaymentIntent, c: SearchClause): boolean {
  if (c.field.kind === 'metadata') {
    const actual = pi.metadata[c.field.key];
    return c.value === null ? actual === undefined : actual !== undefined && sameText(actual, c.value as string);
  }
  if (c.field.kind === 'string') {
    const actual = c.field.name === 'customer' ? pi.customer : pi[c.field.name];
    return typeof actual === 'string' && sameText(actual, c.value as string);
  }
  const actual = pi[c.field.name];
  const v = c.value as number;
  switch (c.op) {
    case '>':
      return actual > v;
    case '<':
      return actual < v;
    case '>=':
      return actual >= v;
    case '<=':
      return actual <= v;
    default:
      return actual === v;
  }
}

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
