import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEventStore } from '../../../src/persistence/webhook-event-store.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

describe.each(drivers)('webhook event ids on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.dispose());

  it('claims an event id once, gives it back when its handling failed, and claims it again', async () => {
    const events = new WebhookEventStore(db.sql);
    expect(await events.claim('evt_1', 'payment_intent.succeeded')).toBe(true);
    expect(await events.claim('evt_1', 'payment_intent.succeeded')).toBe(false);
    await events.unclaim('evt_1');
    expect(await events.claim('evt_1', 'payment_intent.succeeded')).toBe(true);
  });

  it('forgets only ids older than the window, at most the limit per run', async () => {
    const events = new WebhookEventStore(db.sql);
    for (const id of ['evt_old_1', 'evt_old_2', 'evt_old_3', 'evt_new']) await events.claim(id, 'charge.refunded');
    await db.sql.query(`UPDATE webhook_events SET received_at = now() - interval '40 days' WHERE event_id LIKE 'evt_old_%'`);
    const windowMs = 30 * 24 * 60 * 60 * 1000;
    expect(await events.prune(windowMs, 2)).toBe(2);
    expect(await events.prune(windowMs, 2)).toBe(1);
    expect(await events.prune(windowMs, 2)).toBe(0);
    // A forgotten id is new again; the recent one is still known.
    expect(await events.claim('evt_old_1', 'charge.refunded')).toBe(true);
    expect(await events.claim('evt_new', 'charge.refunded')).toBe(false);
  });
});
