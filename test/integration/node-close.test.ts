import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createServer, type Server } from 'node:net';
import { metricLimits } from '../../src/config/limits.js';
import { startNode } from '../../src/node.js';
import { createPgliteDir } from '../support/databases.js';

/** Intervals set with period `ms` (one no other timer uses) from now on, and which of them are still running. */
function watchIntervals(ms: number) {
  const created: unknown[] = [];
  const cleared = new Set<unknown>();
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, period?: number) => {
    const handle = realSet(fn, period);
    if (period === ms) created.push(handle);
    return handle;
  }) as typeof setInterval);
  vi.spyOn(globalThis, 'clearInterval').mockImplementation(((handle: NodeJS.Timeout) => {
    cleared.add(handle);
    realClear(handle);
  }) as typeof clearInterval);
  return { created, running: () => created.filter((h) => !cleared.has(h)), stopAll: () => created.forEach((h) => realClear(h as NodeJS.Timeout)) };
}

/** A node closed while it is still recovering: nothing it starts after recovery may outlive the close. */
describe('a node closed during recovery', () => {
  afterEach(() => vi.restoreAllMocks());

  it('never starts its chores behind the close', async () => {
    const lite = await createPgliteDir();
    // A sweep interval no other timer uses, so the test can tell the chores' intervals from any other.
    const sweepIntervalMs = 4_321;
    const timers = watchIntervals(sweepIntervalMs);
    try {
      const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: 'node-close-test-token-0123', LOG_LEVEL: 'silent', PARTITIONS: '8', SWEEP_INTERVAL_MS: String(sweepIntervalMs), DATA_DIR: lite.dir });
      const node = await startNode(config, { logger: pino({ level: 'silent' }), onFatal: (err) => { throw err; } });
      await node.close();
      await node.recovered;
      expect(timers.running()).toEqual([]);
    } finally {
      timers.stopAll();
      await lite.remove();
    }
  });
});

/** The event-loop lag gauges rotate their window on a timer: it stops when the node closes, or when its start fails. */
describe('the event-loop monitor of a node', () => {
  afterEach(() => vi.restoreAllMocks());

  const configOf = (dir: string, port: number) => loadConfig({ PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: 'node-close-test-token-0123', LOG_LEVEL: 'silent', PARTITIONS: '8', DATA_DIR: dir });

  it('stops with the node', async () => {
    const lite = await createPgliteDir();
    const timers = watchIntervals(metricLimits.eventLoopWindowMs);
    try {
      const node = await startNode(configOf(lite.dir, 0), { logger: pino({ level: 'silent' }), onFatal: (err) => { throw err; } });
      await node.recovered;
      expect(timers.created).toHaveLength(1);
      await node.close();
      expect(timers.running()).toEqual([]);
    } finally {
      timers.stopAll();
      await lite.remove();
    }
  });

  it('stops when the start fails after the metrics exist (the port is taken)', async () => {
    const lite = await createPgliteDir();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const timers = watchIntervals(metricLimits.eventLoopWindowMs);
    try {
      await expect(startNode(configOf(lite.dir, port), { logger: pino({ level: 'silent' }), onFatal: () => {} })).rejects.toThrow();
      expect(timers.created).toHaveLength(1);
      expect(timers.running()).toEqual([]);
    } finally {
      timers.stopAll();
      await new Promise((resolve) => taken.close(resolve));
      await lite.remove().catch(() => undefined);
    }
  });
});
