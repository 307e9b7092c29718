import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../../test/support/child-node.js';
import { pollUntil } from '../../test/support/checkout-client.js';

/**
 * A redis-server of the chaos run's own on a free port, without persistence (`--save "" --appendonly no`), so the
 * nemesis can stop it and start it again empty without touching the shared Redis on 6379.
 */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the server is gone with everything it held. */
  kill(): Promise<void>;
  /** Starts a server on the same port (empty) and waits until it answers PING. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const startMsMax = 10_000;

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child = c;
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    await pollUntil(`redis-server on ${port} to answer PING`, startMsMax, () => ping(port));
  };
  const kill = async () => {
    child?.kill('SIGKILL');
    await exited;
    child = null;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, kill, start, stop: kill };
}

async function ping(port: number): Promise<true | undefined> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {}); // refused while the server starts: the poll tries again
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG' ? true : undefined;
  } finally {
    probe.disconnect();
  }
}
