import type { Logger } from 'pino';
import type { DropService } from '../actors/drop-service.js';
import type { Topology } from '../actors/topology.js';
import type { Metrics } from '../metrics.js';
import { readBacklogPart } from '../persistence/metric-queries.js';
import type { SqlClient } from '../persistence/sql.js';
import type { NodeCore } from './node-core.js';

/** Actor kinds as named in boxoffice_mailbox_depth: the prefix of the actor's name, by what the actor is. */
const mailboxKinds: Record<string, string> = { sku: 'inventory', checkouts: 'checkout' };

/**
 * boxoffice_mailbox_depth's series from the actor system's deepest mailbox per name prefix: every known kind is
 * exported, 0 while it has no actor (a missing series would read as "no data", not as "empty").
 */
export function mailboxDepthSeries(depths: Iterable<readonly [string, number]>): Map<string, number> {
  const out = new Map<string, number>(Object.values(mailboxKinds).map((kind) => [kind, 0]));
  for (const [prefix, depth] of depths) {
    const kind = mailboxKinds[prefix] ?? prefix;
    out.set(kind, Math.max(out.get(kind) ?? 0, depth));
  }
  return out;
}

/**
 * Tells the scrape-time gauges where their values are (docs/metrics.md): this node's memory for holds, partitions,
 * mailboxes, drop queues and hot SKUs' stock; PostgreSQL (cached, on the chore-running node only) for the backlog.
 */
export function wireMetricSources(o: { metrics: Metrics; core: NodeCore; topology: Topology; drops: DropService; sql: SqlClient; log: Logger }): void {
  const { metrics, core } = o;
  metrics.runtime.setSources({
    holds: () => core.inventory.holdCounts(),
    partitionsServed: () => core.host.servedPartitions().length,
    oversold: () => core.inventory.oversoldNow(),
    mailboxDepths: () => mailboxDepthSeries(core.system.mailboxDepths()),
    dropQueues: () => o.drops.queueLengths(),
  });
  metrics.hotSkus.setAvailableSource((sku) => core.inventory.view(sku)?.available ?? null);
  metrics.backlog.setSource({
    exports: () => o.topology.runsChores(),
    read: (part, timeoutMs) => readBacklogPart(o.sql, part, timeoutMs),
    onError: (err, part) => o.log.warn({ err, part }, 'a part of the backlog gauges could not be read; the scrape keeps its last values'),
  });
}
