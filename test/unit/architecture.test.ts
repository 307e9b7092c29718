import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The house rules README's layout section states, checked on every file of src/ (STYLE.md habits 1, 9 and 11):
 * dependencies point one way (http/edge → actors/cluster → persistence → domain), files and functions stay small,
 * and decision code takes its time and ids from what it is given.
 */
const srcDir = join(__dirname, '..', '..', 'src');

function sourceFiles(dir = srcDir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The room of a file: its folder under src/, or its own name for a file at the top (errors, clock, node, …). */
function roomOf(file: string): string {
  const rel = relative(srcDir, file).split('/');
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, '');
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
}

/** Rooms each room must not import (whatever is not listed is allowed). */
const forbidden: Record<string, string[]> = {
  domain: ['actors', 'cluster', 'persistence', 'payments', 'http', 'edge', 'node', 'cli', 'clock', 'metrics'],
  config: ['domain', 'actors', 'cluster', 'persistence', 'payments', 'http', 'edge', 'node', 'cli'],
  persistence: ['actors', 'cluster', 'payments', 'http', 'edge', 'node', 'cli'],
  payments: ['actors', 'cluster', 'persistence', 'http', 'edge', 'node', 'cli'],
  actors: ['http', 'edge', 'node', 'cli'],
  cluster: ['http', 'edge', 'node', 'cli'],
  http: ['edge', 'node', 'cli', 'cluster'],
  edge: ['node', 'cli'],
  cli: ['actors', 'cluster', 'persistence', 'payments', 'http', 'edge', 'node'],
  telemetry: ['actors', 'cluster', 'persistence', 'payments', 'http', 'edge', 'node', 'cli'],
};

/** Functions longer than this (lines) in these files fail the check (STYLE.md habit 9: ~70 lines). */
const functionLinesMax = 70;
const smallFunctionFiles = (file: string) => /^(node\.ts|node\/|cluster\/|edge\/|actors\/checkout-|domain\/checkout)/.test(relative(srcDir, file));
/** Files longer than this need a comment that says why. */
const fileLinesMax = 400;

/** Decision code: takes time and ids from the injected Clock and IdSource, so a seeded simulation replays it. */
const decisionCode = (file: string) =>
  /^(domain\/|edge\/|actors\/checkout-|cluster\/(cluster-runtime|cluster-topology|owner-proxies|sold-out-gossip|route-waiters|coordinator)\.ts)/.test(relative(srcDir, file));

describe('the layout of src/', () => {
  const files = sourceFiles();

  it('keeps dependencies pointing one way', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const room = roomOf(file);
      for (const target of importsOf(file)) {
        if ((forbidden[room] ?? []).includes(roomOf(target))) wrong.push(`${relative(srcDir, file)} → ${relative(srcDir, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps every file under 400 lines, or says why it is longer', () => {
    const long = files.filter((f) => {
      const text = readFileSync(f, 'utf8');
      return text.split('\n').length > fileLinesMax && !/longer than 400 lines because/i.test(text);
    });
    expect(long.map((f) => relative(srcDir, f))).toEqual([]);
  });

  it('keeps functions on a screen in the node, the cluster, the edge and the checkout path', () => {
    const long: string[] = [];
    for (const file of files.filter(smallFunctionFiles)) {
      const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (n: ts.Node): void => {
        if (ts.isFunctionLike(n) && 'body' in n && n.body !== undefined) {
          const lines = sf.getLineAndCharacterOfPosition(n.getEnd()).line - sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
          if (lines > functionLinesMax) long.push(`${relative(srcDir, file)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1} (${lines} lines)`);
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(long).toEqual([]);
  });

  it('takes time and ids in decision code from the injected clock and id source', () => {
    const bare: string[] = [];
    for (const file of files.filter(decisionCode)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (/\bDate\.now\(|\bsetTimeout\(|\bsetInterval\(|\bMath\.random\(|\brandomToken\(/.test(line)) bare.push(`${relative(srcDir, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(bare).toEqual([]);
  });

  it('has no cluster file that knows HTTP', () => {
    const http = files.filter((f) => roomOf(f) === 'cluster' && /from '\.\.\/http/.test(readFileSync(f, 'utf8')));
    expect(http).toEqual([]);
  });
});
