import type { SqlClient } from './sql.js';

/** Webhook events already handled, by id: a provider delivers each at least once, sometimes more. */
export class WebhookEventStore {
  constructor(private readonly sql: SqlClient) {}

  /** Records the event; false when it was recorded before (a duplicate delivery). */
  async claim(eventId: string, type: string): Promise<boolean> {
    const rows = await this.sql.query('INSERT INTO webhook_events (event_id, type) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING RETURNING event_id', [eventId, type]);
    return rows.length === 1;
  }

  /** Forgets an event whose handling failed, so the provider's next delivery is handled. */
  async unclaim(eventId: string): Promise<void> {
    await this.sql.query('DELETE FROM webhook_events WHERE event_id = $1', [eventId]);
  }

  /** Deletes records older than `olderThanMs` (long past the provider's redelivery window), at most `limit`. */
  async prune(olderThanMs: number, limit: number): Promise<number> {
    const rows = await this.sql.query(
      `DELETE FROM webhook_events WHERE event_id IN (SELECT event_id FROM webhook_events WHERE received_at < now() - make_interval(secs => $1::double precision / 1000) LIMIT $2) RETURNING event_id`,
      [olderThanMs, limit],
    );
    return rows.length;
  }
}
