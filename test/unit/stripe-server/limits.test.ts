import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { stripeServerLimits } from '../../stripe-server/limits.js';

/** Every limit of the Stripe test server says what a caller meets past it (STYLE.md habits 5 and 12). */
describe('the Stripe test server limits (test/stripe-server/limits.ts)', () => {
  const file = join(__dirname, '..', '..', 'stripe-server', 'limits.ts');
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const entries: { key: string; comment: string }[] = [];
  ts.forEachChild(source, function visit(node) {
    if (ts.isPropertyAssignment(node)) {
      const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
      entries.push({ key: node.name.getText(source), comment: ranges.map((r) => text.slice(r.pos, r.end)).join('\n') });
    }
    ts.forEachChild(node, visit);
  });

  it('reads every entry of the object', () => {
    expect(entries.map((e) => e.key).sort()).toEqual(Object.keys(stripeServerLimits).sort());
  });

  it.each(Object.keys(stripeServerLimits))('names what %s raises, or says it raises no error', (key) => {
    const comment = entries.find((e) => e.key === key)?.comment ?? '';
    expect(comment).toMatch(/\b(400|401|404|409|429)\b|raises no error|throws|retried/);
  });
});
