import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Coordinator } from '../../../src/cluster/coordinator.js';
import { acquireMessage } from '../../../src/cluster/peer-schemas.js';
import { migrate } from '../../../src/persistence/migrations.js';
import { claimPartitions } from '../../../src/persistence/partitions.js';
import { openSql, type SqlClient } from '../../../src/persistence/sql.js';
import { createPgTestDatabase } from '../../support/databases.js';

/**
 * Every acquire the coordinator sends says why (boxoffice_partition_acquisitions_total{reason}): a failover (the owner
 * of record is gone, or there is none), a planned move, or taking back released partitions after a failed move.
 * The coordinator runs against a real PostgreSQL and reaches two nodes through a fake rpc that holds what they serve.
 */
describe('the reason of each acquire', () => {
  let db: { url: string; drop(): Promise<void> };
  let sql: SqlClient;
  beforeAll(async () => {
    db = await createPgTestDatabase();
    sql = await openSql({ databaseUrl: db.url, dataDir: '', poolSize: 2 });
    await migrate(sql);
  });
  afterAll(async () => {
    await sql?.close();
    await db?.drop();
  });

  it('is failover for unowned partitions, move for a planned move, retry for taking back a failed one', async () => {
    const held = new Map<string, Set<number>>([['node-a', new Set()], ['node-b', new Set()]]);
    const acquires: { node: string; partitions: number[]; reason: string | undefined }[] = [];
    let failNextAcquireOn: string | null = null;
    const rpc = async (node: string, msg: unknown): Promise<unknown> => {
      const m = msg as { t: string; partitions: number[] };
      if (m.t === 'served') return { partitions: [...held.get(node)!] };
      if (m.t === 'release') {
        for (const p of m.partitions) held.get(node)!.delete(p);
        return { released: m.partitions };
      }
      if (m.t !== 'acquire') throw new Error(`unexpected ${m.t}`);
      // The message is what a node accepts (cluster-runtime checks it with this schema).
      const checked = acquireMessage.parse(msg);
      if (failNextAcquireOn === node) {
        failNextAcquireOn = null;
        throw new Error('loading the partitions failed');
      }
      await claimPartitions(sql, node, checked.partitions);
      for (const p of checked.partitions) held.get(node)!.add(p);
      acquires.push({ node, partitions: checked.partitions, reason: checked.reason });
      return { claims: [] };
    };
    const member = (nodeId: string) => ({ nodeId, host: '127.0.0.1', port: 1, startedAt: 0 });
    const coordinator = new Coordinator({
      sql, databaseUrl: db.url, nodeId: 'node-a', partitions: 4, memberTtlMs: 1_500,
      members: () => [member('node-a'), member('node-b')], rpc, publish: async () => {}, log: pino({ level: 'silent' }),
    });
    try {
      coordinator.start();
      await vi.waitFor(() => expect(acquires.flatMap((a) => a.partitions).sort()).toEqual([0, 1, 2, 3]), { timeout: 10_000 });
      expect(new Set(acquires.map((a) => a.reason))).toEqual(new Set(['failover']));

      const p = [...held.get('node-a')!][0]!;
      acquires.length = 0;
      await coordinator.run({ op: 'move', partition: p, to: 'node-b' });
      expect(acquires).toEqual([{ node: 'node-b', partitions: [p], reason: 'move' }]);

      acquires.length = 0;
      failNextAcquireOn = 'node-a';
      await coordinator.run({ op: 'move', partition: p, to: 'node-a' }).catch(() => undefined);
      expect(acquires).toEqual([{ node: 'node-b', partitions: [p], reason: 'retry' }]);
    } finally {
      await coordinator.stop();
    }
  }, 30_000);
});
