import { pollUntil } from '../../test/support/checkout-client.js';
import { startCluster, type TestCluster } from '../../test/support/cluster-harness.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../test/support/private-postgres.js';
import { startStripeTestServer, type StripeTestServer } from '../../test/stripe-server/server.js';
import { freePort } from '../../test/support/child-node.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';

/**
 * Everything a chaos run breaks, all its own: a PostgreSQL server (initdb in a temporary folder) and a redis-server
 * on free ports, so restarting or flushing them never touches the shared ones on 5432 and 6379; the Stripe test
 * server in this process (its fault script is the provider fault); and three node processes selling through it.
 * `stop()` stops all of it, whatever state the nemesis left it in.
 */
export interface ChaosCluster {
  cluster: TestCluster;
  pg: PrivatePostgres;
  redis: PrivateRedis;
  stripe: StripeTestServer;
  /** links[i]: the proxy in front of node i's inter-node port, the one its peers connect through. */
  links: DelayProxy[];
  stop(): Promise<void>;
}

export const chaosNodeEnv = {
  /** Short enough that holds of checkouts a fault cut off end within the run's settle phase. */
  HOLD_TTL_MS: '5000',
  MEMBER_TTL_MS: '1500',
  SWEEP_INTERVAL_MS: '500',
  RECONCILE_INTERVAL_MS: '5000',
  DB_QUERY_TIMEOUT_MS: '5000',
  PASSIVATE_IDLE_MS: '600000',
  PAYMENT_PROVIDER: 'stripe',
  STRIPE_WEBHOOK_SECRET: 'whsec_chaos_run_0123456789',
} as const;

export async function startChaosCluster(nodes: number): Promise<ChaosCluster> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    const errors: unknown[] = [];
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => errors.push(err));
    cleanups.length = 0;
    if (errors.length > 0) throw new AggregateError(errors, 'chaos cluster: cleanup failed');
  };
  try {
    const pg = await startPrivatePostgres();
    cleanups.push(() => pg.stop());
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const stripe = await startStripeTestServer();
    cleanups.push(() => stripe.close());
    const env = { ...chaosNodeEnv, DATABASE_URL: pg.url, REDIS_URL: redis.url, STRIPE_API_KEY: stripe.apiKey, STRIPE_API_BASE: stripe.url };
    const links: DelayProxy[] = [];
    const nodeEnv: Record<string, string>[] = [];
    for (let i = 0; i < nodes; i++) {
      const nodePort = await freePort();
      const proxy = await startDelayProxy(nodePort);
      cleanups.push(() => proxy.close());
      links.push(proxy);
      nodeEnv.push({ NODE_PORT: String(nodePort), NODE_ADVERTISE_PORT: String(proxy.port) });
    }
    // The harness gives every node it starts the same environment: start node-1 with its own, add the rest.
    const cluster = await startCluster({ nodes: 1, partitions: 32, env: { ...env, ...nodeEnv[0] } });
    cleanups.push(() => cluster.stop());
    await Promise.all(nodeEnv.slice(1).map((e, i) => cluster.addNode(`node-${i + 2}`, e)));
    cluster.nodes.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    await settled(cluster, nodes);
    return { cluster, pg, redis, stripe, links, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** Waits until `n` members share every partition: the nodes joined one by one and the first moves take a moment. */
async function settled(c: TestCluster, n: number): Promise<void> {
  await pollUntil(`${n} members sharing every partition`, 30_000, async () => {
    const r = await c.admin(0, 'GET', '/api/admin/cluster');
    const s = r.body as { coordinator: string | null; unowned: number; members: { partitions: number }[] };
    return r.status === 200 && s.members.length === n && s.unowned === 0 && s.coordinator !== null && s.members.every((m) => m.partitions > 0) ? true : undefined;
  });
}
