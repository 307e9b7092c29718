import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listLiveMembers, Membership, membershipKeys, type MemberInfo, type MembershipOptions } from '../../../src/cluster/membership.js';
import { deleteKeysUnder, eventually, openTestRedis, testKeyPrefix } from './redis-support.js';

const prefix = testKeyPrefix('membership');
/** Bound on every wait for an event in this file; far above the TTLs used, far below the test timeout. */
const eventWaitMs = 5_000;
let admin: Redis;
const clients: Redis[] = [];
const memberships: Membership[] = [];

beforeAll(() => {
  admin = openTestRedis();
});

afterEach(async () => {
  await Promise.all(memberships.splice(0).map((m) => m.close()));
  for (const c of clients.splice(0)) c.disconnect();
  await deleteKeysUnder(admin, prefix);
});

afterAll(async () => {
  await deleteKeysUnder(admin, prefix);
  admin.disconnect();
});

const member = (nodeId: string, startedAt = 1_000): MemberInfo => ({ nodeId, host: '10.0.0.1', port: 7000, startedAt });

/** Each node gets its own Redis connection, so a test can cut one node off without touching the others. */
async function start(opts: Partial<MembershipOptions> & { self?: MemberInfo }): Promise<Membership> {
  const redis = openTestRedis();
  clients.push(redis);
  const m = await Membership.start({ redis, keyPrefix: prefix, ...opts });
  memberships.push(m);
  return m;
}

const ids = (members: MemberInfo[]): string[] => members.map((m) => m.nodeId);
const waitFor = <T extends unknown[]>(emitter: Membership, event: 'join' | 'leave' | 'change') =>
  once(emitter, event, { signal: AbortSignal.timeout(eventWaitMs) }) as Promise<T>;

describe('membership in Redis', () => {
  it('lists registered nodes with their advertised addresses, sorted by id', async () => {
    await start({ self: member('node-b') });
    await start({ self: member('node-a') });
    expect(await listLiveMembers(admin, prefix)).toEqual([member('node-a'), member('node-b')]);
    const watcher = await start({});
    expect(watcher.members()).toEqual([member('node-a'), member('node-b')]);
  });

  it('sees a node join at once through the change notice, without waiting for a poll', async () => {
    // A poll interval of a minute: only the pub/sub notice can deliver the join within the wait.
    const watcher = await start({ ttlMs: 60_000, pollIntervalMs: 60_000 });
    const joined = waitFor<[MemberInfo]>(watcher, 'join');
    await start({ self: member('node-a'), ttlMs: 60_000 });
    expect((await joined)[0]).toEqual(member('node-a'));
    expect(ids(watcher.members())).toEqual(['node-a']);
  });

  it('sees a graceful leave at once', async () => {
    const watcher = await start({ ttlMs: 60_000, pollIntervalMs: 60_000 });
    const leaving = await start({ self: member('node-a'), ttlMs: 60_000 });
    await watcher.refresh();
    const left = waitFor<[MemberInfo]>(watcher, 'leave');
    await leaving.close();
    expect((await left)[0].nodeId).toBe('node-a');
    expect(watcher.members()).toEqual([]);
  });

  it('drops a node whose heartbeat stops, within its TTL plus one poll', async () => {
    const ttlMs = 400;
    const pollIntervalMs = 100;
    const watcher = await start({ ttlMs, pollIntervalMs });
    const redis = openTestRedis();
    clients.push(redis);
    const dying = await Membership.start({ redis, keyPrefix: prefix, self: member('node-a'), ttlMs });
    memberships.push(dying);
    await watcher.refresh();
    expect(ids(watcher.members())).toEqual(['node-a']);
    const left = waitFor<[MemberInfo]>(watcher, 'leave');
    // The node loses Redis: its heartbeats fail from now on, like a node that died or was cut off.
    const cutAt = performance.now();
    redis.disconnect();
    expect((await left)[0].nodeId).toBe('node-a');
    const elapsed = performance.now() - cutAt;
    expect(elapsed).toBeLessThan(ttlMs + pollIntervalMs + 500);
    expect(await listLiveMembers(admin, prefix)).toEqual([]);
    expect(await admin.sismember(membershipKeys(prefix).index, 'node-a')).toBe(0);
  });

  it('reports a restart under the same id as a leave followed by a join', async () => {
    const watcher = await start({ ttlMs: 60_000, pollIntervalMs: 60_000 });
    const first = await start({ self: member('node-a', 1_000), ttlMs: 60_000 });
    await watcher.refresh();
    // Crash-like: the old process stops without deregistering; the new one registers before the TTL runs out.
    await first.close({ deregister: false });
    const events: string[] = [];
    watcher.on('leave', (m) => events.push(`leave ${m.nodeId}@${m.startedAt}`));
    watcher.on('join', (m) => events.push(`join ${m.nodeId}@${m.startedAt}`));
    const changed = waitFor(watcher, 'change');
    await start({ self: member('node-a', 2_000), ttlMs: 60_000 });
    await changed;
    expect(events).toEqual(['leave node-a@1000', 'join node-a@2000']);
  });

  it('registers itself again after its keys are deleted (a flushed Redis)', async () => {
    const ttlMs = 600;
    await start({ self: member('node-a'), ttlMs });
    expect(await deleteKeysUnder(admin, prefix)).toBeGreaterThan(0);
    expect(await listLiveMembers(admin, prefix)).toEqual([]);
    // The next heartbeat (every ttl/3) writes the key and the index entry back.
    await eventually(async () => ids(await listLiveMembers(admin, prefix)).includes('node-a'), ttlMs * 3);
  });

  it('skips a malformed member entry and reports it', async () => {
    const keys = membershipKeys(prefix);
    await admin.multi().set(keys.member('node-x'), '{"nodeId":"node-x"}').sadd(keys.index, 'node-x').exec();
    const errors: Error[] = [];
    expect(await listLiveMembers(admin, prefix, (err) => errors.push(err))).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  it.each([
    ['a node id with a colon', { self: member('node:a') }],
    ['a TTL below the minimum', { ttlMs: 10 }],
    ['a poll interval longer than the TTL', { ttlMs: 1_000, pollIntervalMs: 5_000 }],
  ])('refuses %s', async (_label, opts) => {
    await expect(Membership.start({ redis: admin, keyPrefix: prefix, ...opts })).rejects.toThrow(RangeError);
  });
});
