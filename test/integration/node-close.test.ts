import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startNode } from '../../src/node.js';
import { createPgliteDir } from '../support/databases.js';

/** A node closed while it is still recovering: nothing it starts after recovery may outlive the close. */
describe('a node closed during recovery', () => {
  afterEach(() => vi.restoreAllMocks());

  it('never starts its chores behind the close', async () => {
    const lite = await createPgliteDir();
    // A sweep interval no other timer uses, so the test can tell the chores' intervals from any other.
    const sweepIntervalMs = 4_321;
    const created: unknown[] = [];
    const cleared = new Set<unknown>();
    const realSet = globalThis.setInterval;
    const realClear = globalThis.clearInterval;
    vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
      const handle = realSet(fn, ms);
      if (ms === sweepIntervalMs) created.push(handle);
      return handle;
    }) as typeof setInterval);
    vi.spyOn(globalThis, 'clearInterval').mockImplementation(((handle: NodeJS.Timeout) => {
      cleared.add(handle);
      realClear(handle);
    }) as typeof clearInterval);
    try {
      const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: 'node-close-test-token-0123', LOG_LEVEL: 'silent', PARTITIONS: '8', SWEEP_INTERVAL_MS: String(sweepIntervalMs), DATA_DIR: lite.dir });
      const node = await startNode(config, { logger: pino({ level: 'silent' }), onFatal: (err) => { throw err; } });
      await node.close();
      await node.recovered;
      expect(created.filter((h) => !cleared.has(h))).toEqual([]);
    } finally {
      for (const h of created) realClear(h as NodeJS.Timeout);
      await lite.remove();
    }
  });
});
