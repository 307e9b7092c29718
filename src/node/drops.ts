import type { Logger } from 'pino';
import { DropService, type DropPublisher } from '../actors/drop-service.js';
import type { Topology } from '../actors/topology.js';
import type { Clock } from '../clock.js';
import { skuEntity } from '../domain/entities.js';
import type { NodeServices } from '../http/services.js';
import type { Metrics } from '../metrics.js';
import { DropStore } from '../persistence/drop-store.js';
import type { SqlClient } from '../persistence/sql.js';
import type { NodeCore } from './node-core.js';

export interface DropsOptions {
  sql: SqlClient;
  core: NodeCore;
  topology: Topology;
  checkout: NodeServices['checkout'];
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  /** Live updates of tickets and sell-outs (the WebSocket hub's `drop:<sku>` topic); default none. */
  publish?: DropPublisher;
}

/**
 * Drop updates to WebSocket subscribers of `drop:<sku>` on every node: a ticket's state only to the sockets that named
 * that ticket (it carries the admission token; tickets are random, so naming one is holding it), a sell-out to all.
 */
export const dropsToSockets =
  (hub: { publish(topic: string, data: unknown): void; publishTicket(sku: string, ticket: string, data: unknown): void }): DropPublisher =>
  (sku, ticket, data) =>
    ticket === null ? hub.publish(`drop:${sku}`, data) : hub.publishTicket(sku, ticket, data);

/**
 * The drops of one node (docs/drops.md): rooms live where the SKU's partition is served (the topology says where),
 * admission reads the SKU actor's counts and this node's checkouts in flight.
 */
export function createDrops(o: DropsOptions): DropService {
  const owns = (sku: string): boolean => {
    const link = o.topology.link;
    return link === null || link.serves(link.partitionOf(skuEntity(sku)));
  };
  return new DropService({
    store: new DropStore(o.sql),
    clock: o.clock,
    log: o.log,
    owns,
    counts: (sku) => o.core.inventory.view(sku),
    checkouts: o.checkout,
    ...(o.publish ? { publish: o.publish } : {}),
    counted: { admitted: (sku, n) => o.metrics.countDropAdmissions(sku, n), expired: (n) => o.metrics.dropExpirations.inc(n) },
  });
}
