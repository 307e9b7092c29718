import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { subscribeChannel, type ChannelSubscriber } from '../../../src/cluster/redis-client.js';
import { openTestRedis, redisTarget, TcpProxy, testKeyPrefix } from './redis-support.js';

/** Bound on every wait for an event in this file. */
const eventWaitMs = 5_000;
const channel = `${testKeyPrefix('subscriber')}changed`;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function throughProxy(): Promise<{ proxy: TcpProxy; messages: string[]; errors: Error[]; resubscribed: () => Promise<unknown>; sub: ChannelSubscriber }> {
  const proxy = new TcpProxy(redisTarget().host, redisTarget().port);
  await proxy.start();
  cleanups.push(() => proxy.stop());
  const redis = openTestRedis(proxy.url);
  cleanups.push(() => redis.disconnect());
  const messages: string[] = [];
  const errors: Error[] = [];
  let onResubscribed = () => {};
  const sub = subscribeChannel(redis, channel, { onMessage: (t) => messages.push(t), onError: (e) => errors.push(e), onResubscribed: () => onResubscribed() });
  cleanups.push(() => sub.close());
  await sub.subscribed;
  const resubscribed = () => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no resubscribe')), eventWaitMs);
    onResubscribed = () => {
      clearTimeout(timer);
      resolve(undefined);
    };
  });
  return { proxy, messages, errors, resubscribed, sub };
}

describe('a channel subscriber across Redis reconnects', () => {
  it('subscribes again after a reconnect and hears messages published after it', async () => {
    const publisher = openTestRedis();
    cleanups.push(() => publisher.disconnect());
    const { proxy, messages, resubscribed, sub } = await throughProxy();
    await proxy.stop();
    const again = resubscribed();
    await proxy.start();
    await again;
    const heard = once(sub.connection, 'message', { signal: AbortSignal.timeout(eventWaitMs) });
    await publisher.publish(channel, 'after');
    expect((await heard)[1]).toBe('after');
    expect(messages).toEqual(['after']);
  });

  it('closed before its first SUBSCRIBE was answered, settles quietly and reports nothing', async () => {
    const proxy = new TcpProxy(redisTarget().host, redisTarget().port);
    await proxy.start();
    const url = proxy.url;
    await proxy.stop(); // nothing listens there now: the SUBSCRIBE waits in the offline queue
    const redis = openTestRedis(url);
    cleanups.push(() => redis.disconnect());
    const errors: Error[] = [];
    const sub = subscribeChannel(redis, channel, { onMessage: () => {}, onError: (e) => errors.push(e) });
    sub.close();
    await expect(sub.subscribed).resolves.toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('closed the moment the connection is ready again, leaves no unhandled rejection behind', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => process.off('unhandledRejection', onUnhandled));
    const { proxy, sub, errors } = await throughProxy();
    await proxy.stop();
    // The node closes while Redis comes back: the resubscribe is in flight when the connection goes.
    const ready = once(sub.connection, 'ready', { signal: AbortSignal.timeout(eventWaitMs) });
    await proxy.start();
    await ready;
    sub.close();
    await once(sub.connection, 'end', { signal: AbortSignal.timeout(eventWaitMs) });
    // Node reports unhandled rejections once the microtasks of a turn have run: two turns are enough.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    expect(errors).toEqual([]);
  });
});
