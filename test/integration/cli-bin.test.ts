import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, chmodSync, constants, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from '../support/ensure-built.js';
import { runProcess, type ProcessRun } from '../support/run-process.js';

/**
 * bin/boxoffice.js, the package's bin: what `npx boxoffice`, `npm run boxoffice` and `./bin/boxoffice.js` run
 * (docs/CLI.md). It must be runnable as committed, before and after `npm run build`, because npm links a bin whose
 * file is missing or not executable into "boxoffice: not found" (issue 9, item 6). Copies of it run from a temporary
 * folder stand for a checkout whose dist/ is missing or broken, so the real dist/ is never touched.
 */
const binPath = 'bin/boxoffice.js';
const binJs = join(repoRoot, binPath);
const cliJs = join(repoRoot, 'dist', 'src', 'cli', 'boxoffice.js');
const runMsMax = 20_000;
const adminToken = 'cli-bin-test-token-0123456789';

type Run = ProcessRun;

/** Runs `command args` with only PATH (this test's node first, for the shebang's `env node`) and `env` set. */
function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const path = [dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter);
  return runProcess(command, args, { PATH: path, ...env }, runMsMax);
}

/** A folder laid out like a checkout holding only bin/boxoffice.js (and `dist` files when given), real path. */
function fakeCheckout(dist: Record<string, string> = {}): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'bo-cli-bin-')));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(binJs, join(dir, binPath));
  chmodSync(join(dir, binPath), 0o755);
  for (const [file, text] of Object.entries(dist)) {
    mkdirSync(dirname(join(dir, 'dist', file)), { recursive: true });
    writeFileSync(join(dir, 'dist', file), text);
  }
  return dir;
}

describe('bin/boxoffice.js as committed', () => {
  it('is executable in git (mode 100755) and on disk, and starts with the node shebang', () => {
    const listed = spawnSync('git', ['ls-files', '--stage', '--', binPath], { cwd: repoRoot, encoding: 'utf8', timeout: runMsMax });
    expect(listed.stdout).toMatch(new RegExp(`^100755 [0-9a-f]{40} 0\\t${binPath}\\n$`));
    expect(() => accessSync(binJs, constants.X_OK)).not.toThrow();
    expect(readFileSync(binJs, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('is the package bin and what npm run boxoffice runs, in package.json and package-lock.json', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: unknown; scripts: Record<string, string>; type?: string };
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { bin?: unknown }> };
    expect(pkg.bin).toEqual({ boxoffice: binPath });
    expect(lock.packages['']?.bin).toEqual({ boxoffice: binPath });
    expect(pkg.scripts['boxoffice']).toBe(`node ${binPath}`);
    // The bin and dist/ are CommonJS; "type": "module" would make node load both as ES modules and fail.
    expect(pkg.type).toBeUndefined();
  });
});

describe('bin/boxoffice.js with the compiled CLI', () => {
  beforeAll(() => ensureBuilt(cliJs), 150_000);

  it('prints the CLI usage and exits 0 when run itself as an executable with --help', async () => {
    const r = await run(binJs, ['--help']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^usage: boxoffice <command> \[options\]\n/);
  });

  it('passes the arguments and the exit code of the CLI through', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await run(binJs, ['status', '--url', `http://127.0.0.1:${port}`], { ADMIN_TOKEN: adminToken });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: '' });
    expect(r.stderr).toMatch(new RegExp(`^error UNREACHABLE: cannot reach http://127\\.0\\.0\\.1:${port}: `));
  });
});

describe('bin/boxoffice.js in a checkout without a working dist/', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('prints NOT_BUILT and exits 2 when the CLI is not compiled', async () => {
    const dir = fakeCheckout();
    dirs.push(dir);
    const r = await run(join(dir, binPath), ['status'], { ADMIN_TOKEN: adminToken });
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: `error NOT_BUILT: the boxoffice CLI is not compiled yet (no ${join(dir, 'dist', 'src', 'cli', 'boxoffice.js')}); run \`npm run build\` (or \`npm start\`) in ${dir} first\n`,
    });
  });

  it('lets an error of the compiled CLI show its stack instead of taking it for NOT_BUILT', async () => {
    const dir = fakeCheckout({ 'src/cli/boxoffice.js': "'use strict';\nrequire('./a-module-that-is-missing.js');\n" });
    dirs.push(dir);
    const r = await run(process.execPath, [join(dir, binPath), '--help']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Cannot find module './a-module-that-is-missing.js'");
    expect(r.stderr).toContain(join(dir, 'dist', 'src', 'cli', 'boxoffice.js'));
    expect(r.stderr).not.toContain('NOT_BUILT');
  });
});
