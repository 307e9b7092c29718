import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Tests that run compiled code (dist/) as child processes build it first when src/ is newer. `npm test` builds with
 * tsc before vitest, so this only compiles on a direct `npx vitest run …`. Same rule as test/integration/crash.test.ts.
 */
const twoUp = join(__dirname, '..', '..');
/** The repository: two folders up from test/support, three from dist/test/support (scripts like `npm run chaos`). */
export const repoRoot = basename(twoUp) === 'dist' ? join(twoUp, '..') : twoUp;

const buildMsMax = 120_000;

function newestMtimeMs(dir: string, ext: string): number {
  let max = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) if (f.endsWith(ext)) max = Math.max(max, statSync(join(dir, f)).mtimeMs);
  return max;
}

function mtimeMs(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0; // Not built yet.
  }
}

/** Builds dist/ unless `builtFile` (e.g. dist/src/main.js) is newer than every file under src/. Throws if it stays older. */
export function ensureBuilt(builtFile: string): void {
  const src = join(repoRoot, 'src');
  if (mtimeMs(builtFile) >= newestMtimeMs(src, '.ts')) return;
  // Type errors in unrelated files still emit (noEmitOnError is off); the freshness check below is what matters.
  spawnSync(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', join(repoRoot, 'tsconfig.json')], { cwd: repoRoot, stdio: 'inherit', timeout: buildMsMax });
  if (mtimeMs(builtFile) < newestMtimeMs(src, '.ts')) throw new Error(`${builtFile} is older than src/: the build failed`);
}
