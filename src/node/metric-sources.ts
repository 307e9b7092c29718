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
 * Tells the scrape-time gauges where their values are (docs/metrics.md): this node's memory for holds, partitions,
 * mailboxes, drop queues and hot SKUs' stock; PostgreSQL (cached, on the chore-running node only) for the backlog.
 */
export function wireMetricSources(o: { metrics: Metrics; core: NodeCore; topology: Topology; drops: DropService; sql: SqlClient; log: Logger }): void {
  const { metrics, core } = o;
  metrics.runtime.setSources({
    holds: () => core.inventory.holdCounts(),
    partitionsServed: () => core.host.servedPartitions().length,
    oversold: () => core.inventory.oversoldNow(),
    mailboxDepths: () => [...core.system.mailboxDepths()].map(([kind, depth]) => [mailboxKinds[kind] ?? kind, depth] as const),
    dropQueues: () => o.drops.queueLengths(),
  });
  metrics.hotSkus.setAvailableSource((sku) => core.inventory.view(sku)?.available ?? null);
  metrics.backlog.setSource({
    exports: () => o.topology.runsChores(),
    read: (part, timeoutMs) => readBacklogPart(o.sql, part, timeoutMs),
    onError: (err, part) => o.log.warn({ err, part }, 'a part of the backlog gauges could not be read; the scrape keeps its last values'),
  });
}
