import { describe, expect, it } from 'vitest';
import { assignPartitions, diffAssignments, partitionsOwnedBy, type AssignmentOverrides } from '../../../src/cluster/assignment.js';

const partitions = 1024;
const nodes = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i + 1}`);

function countByNode(assignment: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of assignment) counts.set(node, (counts.get(node) ?? 0) + 1);
  return counts;
}

/** Standard deviation of a binomial count: the natural tolerance of "about k of n partitions". */
const binomialSd = (n: number, p: number): number => Math.sqrt(n * p * (1 - p));

describe('assignPartitions', () => {
  it('gives the same answer for the same members in any order', () => {
    const a = assignPartitions(partitions, ['node-a', 'node-b', 'node-c']);
    const b = assignPartitions(partitions, ['node-c', 'node-a', 'node-b', 'node-a']);
    expect(b).toEqual(a);
  });

  it('assigns every partition to a live member', () => {
    const members = nodes(5);
    const assignment = assignPartitions(partitions, members);
    expect(assignment).toHaveLength(partitions);
    for (const owner of assignment) expect(members).toContain(owner);
  });

  it('spreads partitions roughly evenly over the members', () => {
    for (const n of [2, 3, 4, 8]) {
      const counts = countByNode(assignPartitions(partitions, nodes(n)));
      expect(counts.size).toBe(n);
      const mean = partitions / n;
      const tolerance = 4 * binomialSd(partitions, 1 / n);
      for (const count of counts.values()) expect(Math.abs(count - mean)).toBeLessThanOrEqual(tolerance);
    }
  });

  it('moves about 1/(N+1) of the partitions, all to the new node, when a node joins N nodes', () => {
    for (let n = 1; n <= 8; n++) {
      const before = assignPartitions(partitions, nodes(n));
      const after = assignPartitions(partitions, nodes(n + 1));
      const moves = diffAssignments(before, after);
      const expected = partitions / (n + 1);
      expect(Math.abs(moves.length - expected)).toBeLessThanOrEqual(4 * binomialSd(partitions, 1 / (n + 1)));
      for (const move of moves) expect(move.to).toBe(`node-${n + 1}`);
    }
  });

  it('moves only the partitions of a node that leaves, spread over the survivors', () => {
    const members = nodes(4);
    const before = assignPartitions(partitions, members);
    const after = assignPartitions(partitions, members.filter((m) => m !== 'node-2'));
    const moves = diffAssignments(before, after);
    expect(moves.map((m) => m.partition)).toEqual(partitionsOwnedBy(before, 'node-2'));
    for (const move of moves) expect(move.from).toBe('node-2');
    const receivers = countByNode(moves.map((m) => m.to));
    expect([...receivers.keys()].sort()).toEqual(['node-1', 'node-3', 'node-4']);
  });

  it('honours a pin and changes nothing else', () => {
    const members = nodes(3);
    const base = assignPartitions(partitions, members);
    const target = base[7] === 'node-1' ? 'node-2' : 'node-1';
    const pinned = assignPartitions(partitions, members, { pins: new Map([[7, target]]) });
    expect(diffAssignments(base, pinned)).toEqual([{ partition: 7, from: base[7], to: target }]);
  });

  it('ignores overrides that name a node which is not live, or a partition out of range', () => {
    const members = nodes(3);
    const base = assignPartitions(partitions, members);
    const overrides: AssignmentOverrides = {
      pins: new Map([
        [7, 'node-gone'],
        [partitions + 5, 'node-1'],
      ]),
      isolations: new Map([[9, 'node-gone']]),
    };
    expect(assignPartitions(partitions, members, overrides)).toEqual(base);
  });

  it('isolates a partition: its node keeps only that partition and the rest spread over the others', () => {
    const members = nodes(4);
    const base = assignPartitions(partitions, members);
    const isolated = assignPartitions(partitions, members, { isolations: new Map([[42, 'node-3']]) });
    expect(partitionsOwnedBy(isolated, 'node-3')).toEqual([42]);
    const moves = diffAssignments(base, isolated);
    for (const move of moves) {
      // Only partitions leaving node-3 move (plus 42 itself when it lived elsewhere).
      expect(move.partition === 42 || move.from === 'node-3').toBe(true);
    }
  });

  it('lets isolation win over a pin to the isolated node', () => {
    const members = nodes(3);
    const owners = assignPartitions(partitions, members, {
      isolations: new Map([[1, 'node-2']]),
      pins: new Map([
        [1, 'node-1'],
        [2, 'node-2'],
      ]),
    });
    expect(owners[1]).toBe('node-2');
    expect(owners[2]).not.toBe('node-2');
    expect(partitionsOwnedBy(owners, 'node-2')).toEqual([1]);
  });

  it('falls back to every live node when all of them are isolated', () => {
    const owners = assignPartitions(8, ['node-1'], { isolations: new Map([[3, 'node-1']]) });
    expect(owners).toEqual(Array.from({ length: 8 }, () => 'node-1'));
  });

  it.each([
    ['no members', 16, []],
    ['zero partitions', 0, ['node-1']],
    ['a fractional partition count', 1.5, ['node-1']],
    ['an empty member id', 16, ['']],
  ])('refuses %s', (_label, count, members) => {
    expect(() => assignPartitions(count as number, members as string[])).toThrow();
  });
});

describe('diffAssignments', () => {
  it('lists exactly the partitions whose owner changed, with unowned partitions coming from null', () => {
    expect(diffAssignments([undefined, 'a', 'b', null], ['a', 'a', 'c', 'b'])).toEqual([
      { partition: 0, from: null, to: 'a' },
      { partition: 2, from: 'b', to: 'c' },
      { partition: 3, from: null, to: 'b' },
    ]);
  });

  it('refuses assignments of different lengths', () => {
    expect(() => diffAssignments(['a'], ['a', 'b'])).toThrow(/length/);
  });
});
