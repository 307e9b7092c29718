import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './child-node.js';

/**
 * A PostgreSQL server of a test's own (initdb in a temporary folder, its own port), so the test can stop, restart or
 * kill it without touching the shared server other test files use at the same time. Runs as the `postgres` system
 * user when the tests run as root (initdb refuses root). `stop()` removes everything.
 */
export interface PrivatePostgres {
  readonly port: number;
  readonly url: string;
  /** Stops the server (fast shutdown: open connections are cut), then starts it again after `downMs`. */
  restart(downMs?: number): Promise<void>;
  stopServer(): void;
  startServer(): void;
  stop(): Promise<void>;
}

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort();
  return join('/usr/lib/postgresql', versions[versions.length - 1]!, 'bin');
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bo-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) => {
    const cmd = join(bin, tool);
    if (!asRoot) return execFileSync(cmd, args, { stdio: 'pipe' });
    return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
  };
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const startServer = () => void run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
  const stopServer = () => void run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  startServer();
  run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'boxoffice']);
  return {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/boxoffice`,
    stopServer,
    startServer,
    async restart(downMs = 0) {
      stopServer();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      startServer();
    },
    async stop() {
      spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
