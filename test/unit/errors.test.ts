import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorBody, errorCatalogue, errorStatus, fail, type ErrorCode } from '../../src/errors.js';

const codes = Object.keys(errorCatalogue) as ErrorCode[];

/** The rows of the "Error codes" table in docs/API.md: | `CODE` | status | meaning | when |. */
function documentedCodes(): Map<string, number> {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'API.md'), 'utf8');
  const start = doc.indexOf('\n## Error codes');
  expect(start, 'docs/API.md has an "## Error codes" section').toBeGreaterThan(-1);
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next === -1 ? undefined : next);
  const rows = new Map<string, number>();
  for (const m of section.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|(.*)\|\s*$/gm)) {
    expect(rows.has(m[1]!), `${m[1]} is documented once`).toBe(false);
    expect(m[3]!.split('|').every((cell) => cell.trim().length > 0), `${m[1]} has a meaning and a when`).toBe(true);
    rows.set(m[1]!, Number(m[2]));
  }
  return rows;
}

describe('the error catalogue', () => {
  it.each(codes)('%s is an UPPER_SNAKE code that its error body carries unchanged', (code) => {
    expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    expect(errorBody(code).error.code).toBe(code);
    expect(fail(code).code).toBe(code);
  });

  it.each(codes)('%s has a 4xx or 5xx status and a sentence as its message', (code) => {
    const { status, message } = errorCatalogue[code];
    expect(Number.isInteger(status) && status >= 400 && status <= 599).toBe(true);
    expect(errorStatus(code)).toBe(status);
    expect(message).toMatch(/^[A-Z].*\.$/);
    expect(errorBody(code).error.message).toBe(message);
  });

  it('keeps 5xx for failures of the node, never for bad input', () => {
    const serverSide = codes.filter((c) => errorCatalogue[c].status >= 500).sort();
    expect(serverSide).toEqual(['COORDINATOR_UNAVAILABLE', 'INTERNAL', 'MOVE_FAILED', 'NOT_READY', 'PARTITION_UNAVAILABLE', 'PAYMENT_PROVIDER_ERROR', 'PAYMENT_PROVIDER_UNAVAILABLE']);
  });

  it('documents every code in docs/API.md with its status, and nothing else', () => {
    const documented = documentedCodes();
    for (const code of codes) {
      expect(documented.get(code), `${code} is documented with status ${errorCatalogue[code].status}`).toBe(errorCatalogue[code].status);
    }
    expect([...documented.keys()].filter((c) => !(c in errorCatalogue)), 'documented codes that do not exist').toEqual([]);
  });
});

describe('errorBody', () => {
  it('adds details beside the code and message', () => {
    expect(errorBody('OUT_OF_STOCK', { skus: [{ sku: 'A', requested: 2, available: 1 }] })).toEqual({
      error: { code: 'OUT_OF_STOCK', message: errorCatalogue.OUT_OF_STOCK.message, skus: [{ sku: 'A', requested: 2, available: 1 }] },
    });
  });

  it('uses a given message instead of the catalogue one', () => {
    expect(errorBody('PAYMENT_DECLINED', { declineCode: 'generic_decline' }, 'Your card was declined.').error.message).toBe('Your card was declined.');
  });

  it.each([
    ['code', { code: 'SPRING15' }],
    ['message', { message: 'not the catalogue message' }],
  ])('never lets a detail named %s replace the catalogue value', (_name, details) => {
    const body = errorBody('PROMO_NOT_FOUND', details);
    expect(body.error.code).toBe('PROMO_NOT_FOUND');
    expect(body.error.message).toBe(errorCatalogue.PROMO_NOT_FOUND.message);
  });
});
