import { createHmac, randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { startTopicHub, type TopicHub } from '../../../src/edge/topic-hub.js';
import { eventually, openTestRedis, testRedisUrl } from '../cluster/redis-support.js';

/**
 * The topic hub over the real Redis: what one node publishes reaches the sockets of every node of its cluster once
 * (the publisher's own sockets at once, not again through Redis), and nothing of another cluster sharing the Redis.
 */
describe('TopicHub over Redis', () => {
  const hubs: TopicHub[] = [];
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((h) => h.close()));
  });
  const log = pino({ level: 'silent' });
  const secret = 'topic-hub-test-secret-0123456789abcdef';
  const sign = (o: string, t: string, k: string | null, f: string) => createHmac('sha256', secret).update(`${o}\n${t}\n${k ?? ''}\n${f}`).digest('base64url');
  const start = async (cluster: string, nodeId: string) => {
    const hub = await startTopicHub({ redisUrl: testRedisUrl, clusterName: cluster, nodeId, secret, clock: systemClock, log });
    hubs.push(hub);
    const got: { topic: string; ticket: string | null; frame: any }[] = [];
    hub.attach({ deliver: (topic, ticket, frame) => got.push({ topic, ticket, frame: JSON.parse(frame) }) });
    return { hub, got };
  };
  const name = () => `bo-test-hub-${randomBytes(4).toString('hex')}`;

  it('delivers a publish once on every node of the cluster, and never to another cluster', async () => {
    const cluster = name();
    const a = await start(cluster, 'node-a');
    const b = await start(cluster, 'node-b');
    const c = await start(cluster, 'node-c');
    const other = await start(name(), 'node-a');
    a.hub.publish('stock:X', { sku: 'X', available: 3 });
    b.hub.publishTicket('X', 'tkt_1', { state: 'admitted' });
    const expected = [
      { topic: 'stock:X', ticket: null, frame: { topic: 'stock:X', data: { sku: 'X', available: 3 } } },
      { topic: 'drop:X', ticket: 'tkt_1', frame: { topic: 'drop:X', data: { state: 'admitted' } } },
    ];
    await eventually(async () => [a, b, c].every((n) => n.got.length >= 2), 5_000);
    // A marker published last from the other cluster's hub proves nothing else is still in flight for it.
    for (const n of [a, b, c]) expect(n.got.sort((x, y) => x.topic.localeCompare(y.topic))).toEqual(expected.slice().sort((x, y) => x.topic.localeCompare(y.topic)));
    other.hub.publish('stock:MARK', {});
    await eventually(async () => other.got.length === 1, 5_000);
    expect(other.got.map((g) => g.topic)).toEqual(['stock:MARK']);
    expect([a, b, c].every((n) => n.got.length === 2)).toBe(true);
  });

  it('keeps one publisher\'s updates in order on every other node', async () => {
    const cluster = name();
    const a = await start(cluster, 'node-a');
    const b = await start(cluster, 'node-b');
    for (let i = 0; i < 500; i++) a.hub.publish('order:ord_1', { sequence: i });
    await eventually(async () => b.got.length === 500, 10_000);
    expect(b.got.map((g) => g.frame.data.sequence)).toEqual([...Array(500).keys()]);
  });

  it('ignores malformed and unsigned messages on the channel (whoever writes to Redis cannot speak to clients) and keeps delivering', async () => {
    const cluster = name();
    const a = await start(cluster, 'node-a');
    const redis = openTestRedis();
    try {
      await redis.publish(`${cluster}:ws-updates`, 'not json');
      await redis.publish(`${cluster}:ws-updates`, JSON.stringify({ o: 'x', t: 'stock:A' }));
      const f = '{"topic":"stock:A","data":1}';
      await redis.publish(`${cluster}:ws-updates`, JSON.stringify({ o: 'node-z', t: 'stock:A', k: null, f: '{"topic":"stock:A","data":"forged"}', s: sign('node-z', 'stock:A', null, f) }));
      await redis.publish(`${cluster}:ws-updates`, JSON.stringify({ o: 'node-z', t: 'stock:A', k: null, f, s: 'x'.repeat(43) }));
      await redis.publish(`${cluster}:ws-updates`, JSON.stringify({ o: 'node-z', t: 'stock:A', k: null, f }));
      await redis.publish(`${cluster}:ws-updates`, JSON.stringify({ o: 'node-z', t: 'stock:A', k: null, f, s: sign('node-z', 'stock:A', null, f) }));
      await eventually(async () => a.got.length === 1, 5_000);
      expect(a.got).toEqual([{ topic: 'stock:A', ticket: null, frame: { topic: 'stock:A', data: 1 } }]);
    } finally {
      redis.disconnect();
    }
  });

  it('does not deliver an update larger than the bound, nor one that cannot be serialized, and does not throw', async () => {
    const a = await start(name(), 'node-a');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => a.hub.publish('order:o', cyclic)).not.toThrow();
    expect(() => a.hub.publish('order:o', { pad: 'x'.repeat(300 * 1024) })).not.toThrow();
    expect(() => a.hub.publishTicket('bad sku', 't', {})).not.toThrow();
    a.hub.publish('order:o', { ok: true });
    expect(a.got.map((g) => g.frame.data)).toEqual([{ ok: true }]);
  });
});
