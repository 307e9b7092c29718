import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FencedError,
  GroupCommitJournal,
  claimPartitions,
  loadPartitions,
  writeSnapshots,
  type GroupCommitOptions,
} from '../../../src/persistence/journal.js';
import type { SqlClient } from '../../../src/persistence/sql.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';
import { spyOnSql } from '../../support/sql-spy.js';

const noFatal = (err: Error): void => {
  throw new Error(`unexpected fatal journal error: ${err.message}`);
};

function journalOn(sql: SqlClient, opts: Partial<GroupCommitOptions> = {}): GroupCommitJournal {
  return new GroupCommitJournal(sql, { batchRowsMax: 5_000, batchDelayMs: 1, onFatal: noFatal, ...opts });
}

async function storedSeqs(sql: SqlClient, partition: number): Promise<number[]> {
  const rows = await sql.query<{ seq: number }>('SELECT seq FROM journal WHERE partition = $1 ORDER BY seq', [partition]);
  return rows.map((r) => r.seq);
}

describe.each(drivers)('the group-commit journal on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.dispose());

  it('claims new partitions at epoch 1 from seq 1, in a few statements however many partitions', async () => {
    const spy = spyOnSql(db.sql);
    const partitions = Array.from({ length: 1024 }, (_, i) => 10_000 + i);
    const claims = await claimPartitions(spy.sql, 'node-a', partitions);
    expect(claims).toHaveLength(1024);
    expect(claims.every((c) => c.epoch === 1 && c.nextSeq === 1)).toBe(true);
    expect(claims.map((c) => c.partition)).toEqual(partitions);
    expect(spy.statements.length).toBeLessThanOrEqual(4);
  });

  it('bumps the epoch and continues after the last seq when a partition is claimed again', async () => {
    const [claim] = await claimPartitions(db.sql, 'node-a', [1]);
    const journal = journalOn(db.sql);
    journal.own(claim!);
    await Promise.all([journal.append(1, 'sku:a', { n: 1 }), journal.append(1, 'sku:a', { n: 2 })]);
    const [again] = await claimPartitions(db.sql, 'node-b', [1]);
    expect(again).toEqual({ partition: 1, epoch: claim!.epoch + 1, nextSeq: 3 });
    const [owner] = await db.sql.query<{ node: string; epoch: number }>('SELECT node, epoch FROM partition_owners WHERE partition = 1');
    expect(owner).toEqual({ node: 'node-b', epoch: 2 });
  });

  it('says it is backlogged while its bound of rows waits for a commit, and not once they commit', async () => {
    const [claim] = await claimPartitions(db.sql, 'node-a', [40]);
    const journal = journalOn(db.sql, { pendingRowsMax: 3 });
    journal.own(claim!);
    const first = [journal.append(40, 'sku:a', { i: 1 }), journal.append(40, 'sku:a', { i: 2 })];
    expect(journal.backlogged()).toBe(false);
    first.push(journal.append(40, 'sku:a', { i: 3 }));
    expect(journal.backlogged()).toBe(true);
    // Appends are never refused at the bound: an event an actor applied must reach the journal.
    first.push(journal.append(40, 'sku:a', { i: 4 }));
    expect(await Promise.all(first)).toEqual([1, 2, 3, 4]);
    expect(journal.backlogged()).toBe(false);
  });

  it('assigns seqs in append order and resolves each append with its seq', async () => {
    const [claim] = await claimPartitions(db.sql, 'node-a', [2]);
    const journal = journalOn(db.sql);
    journal.own(claim!);
    const seqs = await Promise.all(Array.from({ length: 20 }, (_, i) => journal.append(2, `e${i % 3}`, { i })));
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await storedSeqs(db.sql, 2)).toEqual(seqs);
    const { events } = await loadPartitions(db.sql, [2]);
    expect(events.map((e) => e.event)).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
    expect(events[4]).toEqual({ partition: 2, seq: 5, epoch: 1, entity: 'e1', event: { i: 4 } });
  });

  it('cuts each row of a batch out of one binary parameter: payloads of very different sizes round-trip byte for byte', async () => {
    const spy = spyOnSql(db.sql);
    const [claim] = await claimPartitions(db.sql, 'node-a', [60]);
    const journal = journalOn(spy.sql, { batchDelayMs: 2 });
    journal.own(claim!);
    const sizes = [0, 1, 7, 300, 70_000, 2, 65_536, 5];
    const events = sizes.map((n, i) => ({ i, text: 'é€'.repeat(n), numbers: Array.from({ length: n % 251 }, (_, k) => k * i) }));
    await Promise.all(events.map((e) => journal.append(60, `e${e.i}`, e)));
    expect(spy.statements.filter((s) => s.includes('INSERT INTO journal'))).toHaveLength(1);
    const loaded = await loadPartitions(db.sql, [60]);
    expect(loaded.events.map((e) => e.event)).toEqual(events);
    await writeSnapshots(db.sql, events.map((e, i) => ({ partition: 60, entity: `e${e.i}`, seq: i + 1, epoch: claim!.epoch, state: e })));
    const reloaded = await loadPartitions(db.sql, [60]);
    expect(reloaded.snapshots.map((snap) => snap.state)).toEqual(events);
  });

  it('writes many appends of one tick in one statement', async () => {
    const spy = spyOnSql(db.sql);
    const claims = await claimPartitions(db.sql, 'node-a', [3, 4, 5]);
    const journal = journalOn(spy.sql, { batchDelayMs: 2 });
    for (const c of claims) journal.own(c);
    const appends = Array.from({ length: 900 }, (_, i) => journal.append(3 + (i % 3), 'sku', { i, at: new Date(0) }));
    await Promise.all(appends);
    const stats = journal.stats();
    expect(stats.rows).toBe(900);
    expect(stats.batches).toBe(1);
    expect(stats.maxBatchRows).toBe(900);
    expect(stats.inFlight).toBe(0);
    expect(spy.statements.filter((s) => s.includes('INSERT INTO journal'))).toHaveLength(1);
  });

  it('caps a batch at batchRowsMax and keeps one batch in flight at a time', async () => {
    const spy = spyOnSql(db.sql);
    const [claim] = await claimPartitions(db.sql, 'node-a', [6]);
    const journal = journalOn(spy.sql, { batchRowsMax: 100, batchDelayMs: 0 });
    journal.own(claim!);
    const seqs = await Promise.all(Array.from({ length: 1_000 }, () => journal.append(6, 'hot-sku', { op: 'reserve' })));
    expect(seqs.at(-1)).toBe(1_000);
    const stats = journal.stats();
    expect(stats.maxBatchRows).toBeLessThanOrEqual(100);
    expect(stats.batches).toBeGreaterThanOrEqual(10);
    expect(spy.maxConcurrent).toBe(1);
    expect(await storedSeqs(db.sql, 6)).toHaveLength(1_000);
  });

  it('grows batches while a commit is in flight', async () => {
    const spy = spyOnSql(db.sql);
    spy.latencyMs = 5;
    const [claim] = await claimPartitions(db.sql, 'node-a', [7]);
    const journal = journalOn(spy.sql, { batchDelayMs: 0 });
    journal.own(claim!);
    // Appends arrive one per turn of the event loop; batches form from what accumulates during each commit.
    const appends: Promise<number>[] = [];
    for (let i = 0; i < 300; i++) {
      appends.push(journal.append(7, 'sku', { i }));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(appends);
    const stats = journal.stats();
    expect(stats.rows).toBe(300);
    expect(stats.batches).toBeLessThan(100);
    expect(spy.maxConcurrent).toBe(1);
  });

  it('flush resolves once every earlier append has committed', async () => {
    const [claim] = await claimPartitions(db.sql, 'node-a', [8]);
    const journal = journalOn(db.sql, { batchDelayMs: 1_000 });
    journal.own(claim!);
    const settled: number[] = [];
    for (let i = 0; i < 5; i++) void journal.append(8, 'sku', { i }).then((seq) => settled.push(seq));
    await journal.flush();
    expect(await storedSeqs(db.sql, 8)).toEqual([1, 2, 3, 4, 5]);
    await Promise.resolve();
    expect(settled).toHaveLength(5);
  });

  it('fences the old owner once another node claims the partition: its appends reject and nothing of them is stored', async () => {
    const [claimA] = await claimPartitions(db.sql, 'node-a', [9]);
    const nodeA = journalOn(db.sql, { batchDelayMs: 1_000 });
    nodeA.own(claimA!);
    const before = nodeA.append(9, 'sku', { before: true });
    await nodeA.flush();
    await expect(before).resolves.toBe(1);
    const late = Promise.allSettled([nodeA.append(9, 'sku', { late: 1 }), nodeA.append(9, 'sku', { late: 2 })]);
    const [claimB] = await claimPartitions(db.sql, 'node-b', [9]);
    expect(claimB!.nextSeq).toBe(2);
    await nodeA.flush();
    for (const outcome of await late) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(FencedError);
      expect(reason).toMatchObject({ partition: 9, epoch: claimA!.epoch });
    }
    expect(nodeA.owns(9)).toBe(false);
    await expect(nodeA.append(9, 'sku', { afterFence: true })).rejects.toBeInstanceOf(FencedError);

    const nodeB = journalOn(db.sql);
    nodeB.own(claimB!);
    expect(await nodeB.append(9, 'sku', { fromB: true })).toBe(2);
    const rows = await db.sql.query<{ seq: number; epoch: number }>('SELECT seq, epoch FROM journal WHERE partition = 9 ORDER BY seq');
    expect(rows).toEqual([
      { seq: 1, epoch: claimA!.epoch },
      { seq: 2, epoch: claimB!.epoch },
    ]);
  });

  it('fences only the moved partition of a mixed batch', async () => {
    const claims = await claimPartitions(db.sql, 'node-a', [11, 12]);
    const journal = journalOn(db.sql, { batchDelayMs: 1_000 });
    for (const c of claims) journal.own(c);
    const outcomes = Promise.allSettled([journal.append(11, 'sku', { x: 1 }), journal.append(12, 'sku', { x: 2 })]);
    await claimPartitions(db.sql, 'node-b', [11]);
    await journal.flush();
    const [moved, kept] = await outcomes;
    expect(moved!.status === 'rejected' && moved!.reason instanceof FencedError).toBe(true);
    expect(kept).toEqual({ status: 'fulfilled', value: 1 });
    expect(journal.owns(11)).toBe(false);
    expect(journal.owns(12)).toBe(true);
  });

  it('rejects the waiting appends of a partition it disowns', async () => {
    const [claim] = await claimPartitions(db.sql, 'node-a', [13]);
    const journal = journalOn(db.sql, { batchDelayMs: 1_000 });
    journal.own(claim!);
    const waiting = journal.append(13, 'sku', {});
    journal.disown(13);
    await expect(waiting).rejects.toBeInstanceOf(FencedError);
    await journal.flush();
    expect(await storedSeqs(db.sql, 13)).toEqual([]);
  });

  it('fences a snapshot written at an old epoch and writes one at the current epoch', async () => {
    const [claimA] = await claimPartitions(db.sql, 'node-a', [14]);
    const [claimB] = await claimPartitions(db.sql, 'node-b', [14]);
    const old = await writeSnapshots(db.sql, [{ partition: 14, entity: 'sku', seq: 5, epoch: claimA!.epoch, state: { stale: true } }]);
    expect(old.fenced).toEqual([14]);
    const current = await writeSnapshots(db.sql, [{ partition: 14, entity: 'sku', seq: 5, epoch: claimB!.epoch, state: { fresh: true } }]);
    expect(current.fenced).toEqual([]);
    const { snapshots } = await loadPartitions(db.sql, [14]);
    expect(snapshots).toEqual([{ partition: 14, entity: 'sku', seq: 5, epoch: claimB!.epoch, state: { fresh: true } }]);
  });

  it('loads each snapshot and only the journal tail after it', async () => {
    const claims = await claimPartitions(db.sql, 'node-a', [15, 16]);
    const journal = journalOn(db.sql);
    for (const c of claims) journal.own(c);
    // Partition 15: entity a has events 1..5 (snapshot at 3), entity b has 6..7 and no snapshot. Partition 16: one event.
    for (let i = 1; i <= 5; i++) void journal.append(15, 'a', { a: i });
    void journal.append(15, 'b', { b: 1 });
    void journal.append(15, 'b', { b: 2 });
    void journal.append(16, 'c', { c: 1 });
    await journal.flush();
    const epoch = claims[0]!.epoch;
    expect((await writeSnapshots(db.sql, [{ partition: 15, entity: 'a', seq: 3, epoch, state: { total: 3 } }])).fenced).toEqual([]);

    const loaded = await loadPartitions(db.sql, [15, 16]);
    expect(loaded.snapshots).toEqual([{ partition: 15, entity: 'a', seq: 3, epoch, state: { total: 3 } }]);
    expect(loaded.events.map((e) => [e.partition, e.seq, e.entity, e.event])).toEqual([
      [15, 4, 'a', { a: 4 }],
      [15, 5, 'a', { a: 5 }],
      [15, 6, 'b', { b: 1 }],
      [15, 7, 'b', { b: 2 }],
      [16, 1, 'c', { c: 1 }],
    ]);
  });

  it('retries a batch that failed before reaching the database', async () => {
    const spy = spyOnSql(db.sql);
    const [claim] = await claimPartitions(db.sql, 'node-a', [17]);
    const journal = journalOn(spy.sql);
    journal.own(claim!);
    spy.failNext(/INSERT INTO journal/, 2, 'before');
    await expect(Promise.all([journal.append(17, 'x', 1), journal.append(17, 'x', 2)])).resolves.toEqual([1, 2]);
    expect(await storedSeqs(db.sql, 17)).toEqual([1, 2]);
  });

  it('resolves a retried batch whose first commit succeeded but whose reply was lost', async () => {
    const spy = spyOnSql(db.sql);
    const [claim] = await claimPartitions(db.sql, 'node-a', [18]);
    const journal = journalOn(spy.sql);
    journal.own(claim!);
    spy.failNext(/INSERT INTO journal/, 1, 'after');
    await expect(Promise.all([journal.append(18, 'x', 'a'), journal.append(18, 'x', 'b')])).resolves.toEqual([1, 2]);
    expect(await storedSeqs(db.sql, 18)).toEqual([1, 2]);
    expect(journal.stats().rows).toBe(2);
  });

  it('rejects a row when the stored row at its seq is not its own', async () => {
    const spy = spyOnSql(db.sql);
    const [claim] = await claimPartitions(db.sql, 'node-a', [19]);
    // Another writer at the same epoch (a bug) already took seq 1 with different bytes.
    await db.sql.query(`INSERT INTO journal (partition, seq, epoch, entity, payload) VALUES (19, 1, $1, 'x', '\\x00')`, [claim!.epoch]);
    const journal = journalOn(spy.sql);
    journal.own(claim!);
    await expect(journal.append(19, 'x', 'mine')).rejects.toBeInstanceOf(FencedError);
  });

  it('calls onFatal and rejects everything when a batch keeps failing', async () => {
    const spy = spyOnSql(db.sql);
    const [claim] = await claimPartitions(db.sql, 'node-a', [20]);
    const fatal: Error[] = [];
    const journal = journalOn(spy.sql, { onFatal: (err) => fatal.push(err) });
    journal.own(claim!);
    spy.failNext(/INSERT INTO journal/, 100, 'before');
    await expect(journal.append(20, 'x', 1)).rejects.toThrow(/injected/);
    expect(fatal).toHaveLength(1);
    await expect(journal.append(20, 'x', 2)).rejects.toThrow(/injected/);
    expect(await storedSeqs(db.sql, 20)).toEqual([]);
  });

  it('refuses appends after close, having committed the earlier ones', async () => {
    const [claim] = await claimPartitions(db.sql, 'node-a', [21]);
    const journal = journalOn(db.sql, { batchDelayMs: 1_000 });
    journal.own(claim!);
    const before = journal.append(21, 'x', 1);
    await journal.close();
    await expect(before).resolves.toBe(1);
    await expect(journal.append(21, 'x', 2)).rejects.toThrow(/closed/);
  });
});

describe('the group-commit journal on pg, seen from another connection', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pg');
  });
  afterAll(() => db.dispose());

  it('never resolves an append before its row is visible to another connection', async () => {
    const other = (await db.openAnother(1))!;
    const [claim] = await claimPartitions(db.sql, 'node-a', [1]);
    const journal = journalOn(db.sql, { batchRowsMax: 7, batchDelayMs: 0 });
    journal.own(claim!);
    const checks: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const appended = journal.append(1, 'sku', { i });
      checks.push(
        appended.then(async (seq) => {
          const rows = await other.query('SELECT 1 FROM journal WHERE partition = 1 AND seq = $1', [seq]);
          expect(rows).toHaveLength(1);
        }),
      );
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(checks);
  });

  it('fences an old owner whose claim was taken over by a second node on its own pool', async () => {
    const nodeB = (await db.openAnother(2))!;
    const [claimA] = await claimPartitions(db.sql, 'node-a', [2]);
    const journalA = journalOn(db.sql, { batchDelayMs: 0 });
    journalA.own(claimA!);
    // Node A keeps appending while node B takes the partition: every A append before the claim commits, every
    // one after it is fenced, and B continues exactly after A's last committed seq.
    const results: Promise<number | 'fenced'>[] = [];
    let claimB: Awaited<ReturnType<typeof claimPartitions>>[number] | undefined;
    const claiming = claimPartitions(nodeB, 'node-b', [2]).then(([c]) => {
      claimB = c;
    });
    for (let i = 0; i < 200 && claimB === undefined; i++) {
      results.push(journalA.append(2, 'sku', { i }).catch((err: unknown) => {
        if (err instanceof FencedError) return 'fenced' as const;
        throw err;
      }));
      await new Promise((r) => setImmediate(r));
    }
    await claiming;
    const outcomes = await Promise.all(results);
    const committed = outcomes.filter((o): o is number => o !== 'fenced');
    expect(outcomes.indexOf('fenced') === -1 || outcomes.slice(outcomes.indexOf('fenced')).every((o) => o === 'fenced')).toBe(true);
    expect(claimB!.nextSeq).toBe((committed.at(-1) ?? 0) + 1);
    expect(await storedSeqs(db.sql, 2)).toEqual(committed);
  });
});
