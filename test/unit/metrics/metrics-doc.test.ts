import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createEventMetrics } from '../../../src/events/event-metrics.js';
import { createMetrics } from '../../../src/metrics.js';

describe('docs/metrics.md', () => {
  it('lists every boxoffice_ metric a node registers, and no other', async () => {
    const metrics = createMetrics();
    try {
      createEventMetrics(metrics.registry);
      const registered = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('boxoffice_'));
      const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'metrics.md'), 'utf8');
      const documented = new Set([...doc.matchAll(/^\| `(boxoffice_[a-z_]+)` \|/gm)].map((m) => m[1]!));
      expect([...registered].sort()).toEqual([...documented].sort());
    } finally {
      metrics.close();
    }
  });

  it('gives a node its own registry, so several nodes in one process do not collide', () => {
    const a = createMetrics();
    const b = createMetrics();
    expect(a.registry).not.toBe(b.registry);
    expect(a.registry).not.toBe(client.register);
    a.close();
    b.close();
  });
});
