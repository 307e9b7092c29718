import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { openClusterRedis } from '../../../src/cluster/redis-client.js';

/**
 * Redis for cluster tests: the real server of the dev machines and CI (BO_TEST_REDIS_URL, default
 * redis://127.0.0.1:6379). Every test file uses its own key prefix and deletes its keys afterwards, so files
 * running in parallel never see each other's routes or members.
 */
export const testRedisUrl = process.env['BO_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export function testKeyPrefix(label: string): string {
  return `bo-test:${label}:${randomBytes(4).toString('hex')}:`;
}

/** A Redis client with the cluster's settings; the caller closes it (or `closeAll`). */
export function openTestRedis(url: string = testRedisUrl, onError: (err: Error) => void = () => {}): Redis {
  return openClusterRedis(url, onError);
}

/** Deletes every key under `prefix` (our FLUSHDB: the Redis server is shared). Returns how many went. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * A TCP proxy in front of Redis that a test can stop and start again on the same port: "Redis is down" for the
 * clients behind it, while the test keeps talking to the real Redis directly.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private listenPort = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.listenPort}`;
  }

  async start(): Promise<void> {
    const server = createServer((client) => this.pipe(client));
    server.listen(this.listenPort, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    this.listenPort = address.port;
    this.server = server;
  }

  /** Stops listening and cuts every proxied connection. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

export function redisTarget(url: string = testRedisUrl): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

/**
 * Polls `check` until it returns true, for states with no event to wait on (a key that another process re-creates).
 * Bounded: throws after `deadlineMs`.
 */
export async function eventually(check: () => Promise<boolean>, deadlineMs: number, pollMs = 20): Promise<void> {
  const until = performance.now() + deadlineMs;
  while (!(await check())) {
    if (performance.now() > until) throw new Error(`condition not met within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
