import client from 'prom-client';
import { metricLimits } from '../config/limits.js';
import { BoundedLabel } from './bounded-label.js';

/**
 * Why a node acquired partitions: at its start (alone), a planned move, a failover, taking back a failed move, a first
 * owner for partitions nobody owned (a fresh cluster), or a reason this build does not know (an older or newer
 * coordinator).
 */
export type AcquireReason = 'start' | 'move' | 'failover' | 'retry' | 'assign' | 'unknown';

/** Events per committed journal batch: powers of two from 1 to 4096. */
const batchSizeBuckets = Array.from({ length: 13 }, (_, i) => 2 ** i);
const commitBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Counters and histograms of rare events (partition moves, oversold units, drop admissions, journal batches), counted
 * through prom-client directly: none is on the per-request path (a journal batch carries many requests).
 */
export function createBusinessCounters(registry: client.Registry) {
  const oversold = new client.Counter({ name: 'boxoffice_oversold_units_total', help: 'Units newly sold beyond stock (sold + held above on hand) by a live SKU actor on this node; an oversell found at load is in boxoffice_oversold_units instead. Must stay 0.', registers: [registry] });
  const moves = new client.Counter({ name: 'boxoffice_partition_moves_total', help: 'Partitions this node acquired in a planned move (each move counted once, by its new owner).', registers: [registry] });
  const acquisitions = new client.Counter({
    name: 'boxoffice_partition_acquisitions_total',
    help: 'Partitions this node acquired, by reason (start, move, failover, retry, assign, unknown).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const dropSku = new BoundedLabel(metricLimits.dropSkuLabelsMax);
  const dropAdmissions = new client.Counter({
    name: 'boxoffice_drop_admissions_total',
    help: `Buyers admitted from drop queues on this node (the owner of their SKU), by drop SKU (the first ${metricLimits.dropSkuLabelsMax}, then other).`,
    labelNames: ['sku'] as const,
    registers: [registry],
  });
  const batchEvents = new client.Histogram({ name: 'boxoffice_journal_batch_events', help: 'Journal rows per committed batch (one row holds the events of one actor turn).', buckets: batchSizeBuckets, registers: [registry] });
  const batchSeconds = new client.Histogram({ name: 'boxoffice_journal_batch_commit_seconds', help: 'Time to commit one journal batch, retries included.', buckets: commitBuckets, registers: [registry] });
  return {
    dropSku,
    countOversold: (units: number) => oversold.inc(units),
    countAcquired(reason: AcquireReason, partitions: number): void {
      acquisitions.inc({ reason }, partitions);
      if (reason === 'move') moves.inc(partitions);
    },
    countDropAdmissions: (sku: string, n: number) => dropAdmissions.inc({ sku: dropSku.of(sku) }, n),
    observeJournalBatch(rows: number, seconds: number): void {
      batchEvents.observe(rows);
      batchSeconds.observe(seconds);
    },
  };
}
