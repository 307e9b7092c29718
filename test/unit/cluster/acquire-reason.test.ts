import { describe, expect, it } from 'vitest';
import { clusterLimits } from '../../../src/config/limits.js';
import { acquireMessage, acquireReasonOf } from '../../../src/cluster/peer-schemas.js';

/** An acquire's reason across versions: a coordinator newer or older than this node still gets its partitions served. */
describe('the acquire reason', () => {
  it('accepts a reason this build does not know (a newer coordinator), and counts it as unknown', () => {
    const parsed = acquireMessage.safeParse({ t: 'acquire', partitions: [1, 2], reason: 'rebalance' });
    expect(parsed.success).toBe(true);
    expect(acquireReasonOf(parsed.data?.reason)).toBe('unknown');
  });

  it('counts an acquire without a reason (an older coordinator) as unknown, not as a failover', () => {
    const parsed = acquireMessage.safeParse({ t: 'acquire', partitions: [1] });
    expect(parsed.success).toBe(true);
    expect(acquireReasonOf(parsed.data?.reason)).toBe('unknown');
  });

  it('keeps the reasons it knows, and refuses a reason past the length bound', () => {
    for (const reason of ['move', 'failover', 'retry', 'assign'] as const) expect(acquireReasonOf(reason)).toBe(reason);
    expect(acquireMessage.safeParse({ t: 'acquire', partitions: [1], reason: 'x'.repeat(clusterLimits.acquireReasonLengthMax + 1) }).success).toBe(false);
  });
});
