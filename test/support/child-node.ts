import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pollUntil } from './checkout-client.js';
import { ensureBuilt, repoRoot } from './ensure-built.js';
import { testAdminToken } from './node-harness.js';

/** The compiled node that crash tests run as a child process (built first when src/ is newer). */
export const mainJs = join(repoRoot, 'dist', 'src', 'main.js');

export function ensureNodeBuilt(): void {
  ensureBuilt(mainJs);
}

/** A port free now on 127.0.0.1 (a restarted node takes the same one again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** One running child node: its process, the output it printed, and a promise of its exit. */
export interface ChildNode {
  child: ChildProcess;
  base: string;
  output: string[];
  exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();

/**
 * Starts dist/src/main.js on `port` with a minimal environment (admin token, 64 partitions, a 200 ms sweep, warn
 * logs) plus `env`, and waits until /readyz answers 200 (bounded; a node that exits during start fails with its
 * output).
 */
export async function bootChildNode(port: number, env: Record<string, string>): Promise<ChildNode> {
  const child = spawn(process.execPath, [mainJs], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: testAdminToken, PARTITIONS: '64', SWEEP_INTERVAL_MS: '200', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (live.delete(child), resolve(code))));
  let gone = false;
  void exited.then(() => (gone = true));
  const base = `http://127.0.0.1:${port}`;
  await pollUntil('/readyz to answer 200', 30_000, async () => {
    if (gone) throw new Error(`the node exited during start:\n${output.join('')}`);
    const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await r.text();
    return r.status === 200 ? true : undefined;
  });
  return { child, base, output, exited };
}

/** SIGKILL, and the proof that the signal (not an exit of its own) ended it. */
export async function kill9(node: ChildNode): Promise<void> {
  node.child.kill('SIGKILL');
  const code = await node.exited;
  if (code !== null) throw new Error(`the node exited with ${code} before the signal:\n${node.output.join('')}`);
}

/** Kills every child node still running (afterAll). */
export async function killAllChildNodes(): Promise<void> {
  const children = [...live];
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(null) : c.once('exit', resolve)))));
}

/** An admin request (JSON in and out) to a child node. */
export async function adminCall(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${testAdminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: (await res.json()) as any };
}
