import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as limitsIndex from '../../../src/config/limits.js';
import { errorCatalogue } from '../../../src/errors.js';
import { wsErrorCatalogue } from '../../../src/http/ws/ws-errors.js';

const srcDir = join(__dirname, '..', '..', '..', 'src');
const indexFile = join(srcDir, 'config', 'limits.ts');

/** Every limit group of the index: `limits` and each exported `…Limits` object, with each entry's leading comment. */
function limitEntries(): { group: string; key: string; comment: string }[] {
  const file = ts.createSourceFile(indexFile, readFileSync(indexFile, 'utf8'), ts.ScriptTarget.Latest, true);
  const text = file.getFullText();
  const entries: { group: string; key: string; comment: string }[] = [];
  for (const stmt of file.statements) {
    if (!ts.isVariableStatement(stmt)) continue;
    for (const decl of stmt.declarationList.declarations) {
      const group = decl.name.getText(file);
      if (group !== 'limits' && !group.endsWith('Limits')) continue;
      let init = decl.initializer;
      while (init && (ts.isAsExpression(init) || ts.isSatisfiesExpression(init))) init = init.expression;
      if (!init || !ts.isObjectLiteralExpression(init)) throw new Error(`${group} is not an object literal`);
      for (const prop of init.properties) {
        const ranges = ts.getLeadingCommentRanges(text, prop.getFullStart()) ?? [];
        entries.push({ group, key: prop.name!.getText(file), comment: ranges.map((r) => text.slice(r.pos, r.end)).join('\n') });
      }
    }
  }
  return entries;
}

/** The codes a caller can meet: the API's catalogue, the transport's own codes and the CLI's (string literals there). */
function knownCodes(): Set<string> {
  const codes = new Set<string>([...Object.keys(errorCatalogue), ...Object.keys(wsErrorCatalogue)]);
  const files = [join(srcDir, 'cluster', 'transport-error.ts'), ...readdirSync(join(srcDir, 'cli')).map((f) => join(srcDir, 'cli', f))];
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/'([A-Z][A-Z_]{2,})'/g)) codes.add(m[1]!);
  return codes;
}

describe('the limits index (src/config/limits.ts)', () => {
  const entries = limitEntries();
  const codes = knownCodes();

  it('holds every group a module applies', () => {
    expect(entries.length).toBeGreaterThan(100);
    const groups = Object.keys(limitsIndex).filter((k) => k === 'limits' || k.endsWith('Limits'));
    expect(new Set(entries.map((e) => e.group))).toEqual(new Set(groups));
  });

  it('gives every limit a comment that names the error it raises, or says it raises none', () => {
    const unnamed = entries.filter(({ comment }) => {
      const words = comment.match(/\b[A-Z][A-Z_]{2,}\b/g) ?? [];
      return !(words.some((w) => codes.has(w)) || /raises no error|exit( code)? \d+|RangeError|PaymentTimeoutError/.test(comment));
    });
    expect(unnamed.map((e) => `${e.group}.${e.key}: ${e.comment || '(no comment)'}`)).toEqual([]);
  });

  it('is the only place a module defines a limit group', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts') && path !== indexFile && /export const \w+Limits = /.test(readFileSync(path, 'utf8'))) offenders.push(path);
      }
    };
    walk(srcDir);
    expect(offenders).toEqual([]);
  });
});

describe('payment deadlines that must nest', () => {
  it('lets one Stripe call, retries included, end before the caller stops waiting for it', () => {
    const { limits, stripeLimits } = limitsIndex;
    expect(stripeLimits.requestTimeoutMs).toBeLessThanOrEqual(stripeLimits.callBudgetMs);
    expect(stripeLimits.callBudgetMs).toBeLessThan(limits.paymentCallTimeoutMs);
    expect(stripeLimits.attemptMinMs).toBeLessThan(stripeLimits.callBudgetMs);
  });
});
