import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { eventLimits, nodeLimits } from '../config/limits.js';
import type { Metrics } from '../metrics.js';
import { Retention } from '../persistence/retention.js';
import type { SqlClient } from '../persistence/sql.js';
import { WebhookDeliveryStore } from '../persistence/webhook-delivery-store.js';

/**
 * One retention run (a node-wide chore every nodeLimits.retentionIntervalMs): per table, batches of
 * retentionBatchMax rows until a batch comes back short or retentionBatchesPerRunMax were deleted; counted by table.
 */
export function retentionJob(o: { config: Config; sql: SqlClient; metrics: Metrics; log: Logger }): () => Promise<void> {
  const retention = new Retention(o.sql);
  const deliveries = new WebhookDeliveryStore(o.sql);
  const tables: [table: string, run: () => Promise<number>][] = [
    ['idempotency_keys', () => retention.deleteKeys(o.config.idempotencyRetentionMs, nodeLimits.retentionBatchMax)],
    ['outbox', () => retention.deletePublishedOutbox(nodeLimits.outboxPublishedKeepMs, nodeLimits.retentionBatchMax)],
    ['webhook_deliveries', () => deliveries.deleteSettled(eventLimits.webhookDeliveryKeepMs, nodeLimits.retentionBatchMax)],
  ];
  return async () => {
    for (const [table, run] of tables) {
      let deleted = 0;
      for (let batch = 0; batch < nodeLimits.retentionBatchesPerRunMax; batch++) {
        const n = await run();
        deleted += n;
        o.metrics.retentionDeleted.inc({ table }, n);
        if (n < nodeLimits.retentionBatchMax) break;
      }
      if (deleted > 0) o.log.info({ table, deleted }, 'retention: rows past their keep time deleted');
    }
  };
}
