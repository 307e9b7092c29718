import { dropSchema } from './drop-schema.js';
import type { SqlClient, SqlTx } from './sql.js';

/**
 * Versioned schema migrations. Each migration runs in its own transaction that first takes a transaction-scoped
 * advisory lock, so several nodes starting at once on one PostgreSQL server apply each migration exactly once: the
 * others wait for the lock, then see the version recorded and skip it. Versions only grow; a released migration is
 * never edited (add a new one instead).
 *
 * Statements are listed one by one because PGlite's `query` runs exactly one statement per call.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Arbitrary constant shared by every boxoffice node: the advisory lock key that serializes migrations. */
const MIGRATION_LOCK_KEY = 0x626f78; // "box"

const initialSchema: string[] = [
  `CREATE TABLE products (
    sku text PRIMARY KEY,
    name text NOT NULL,
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency text NOT NULL,
    weight_grams int NOT NULL CHECK (weight_grams >= 0),
    tax_category text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE promotions (
    code text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('percentage', 'fixed', 'free_shipping')),
    percent_bps int NULL,
    amount_minor bigint NULL,
    currency text NULL,
    min_subtotal_minor bigint NOT NULL DEFAULT 0,
    starts_at timestamptz NULL,
    ends_at timestamptz NULL,
    usage_limit_total bigint NULL,
    usage_limit_per_customer bigint NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE promotion_usages (
    order_id text PRIMARY KEY,
    code text NOT NULL,
    customer_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX promotion_usages_code ON promotion_usages (code)`,
  `CREATE INDEX promotion_usages_code_customer ON promotion_usages (code, customer_id)`,
  `CREATE TABLE carts (
    cart_id text PRIMARY KEY,
    state jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  `CREATE INDEX carts_expires_at ON carts (expires_at)`,
  `CREATE TABLE orders (
    order_id text PRIMARY KEY,
    user_id text NULL,
    customer_key text NOT NULL,
    status text NOT NULL,
    total bigint NOT NULL CHECK (total >= 0),
    currency text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    checkout_id text NOT NULL UNIQUE,
    idempotency_key text NOT NULL,
    subtotal bigint NOT NULL CHECK (subtotal >= 0),
    discount bigint NOT NULL CHECK (discount >= 0),
    shipping bigint NOT NULL CHECK (shipping >= 0),
    tax bigint NOT NULL CHECK (tax >= 0),
    promo_code text NULL,
    address jsonb NULL,
    priced jsonb NULL,
    snapshot_hash text NOT NULL
  )`,
  `CREATE INDEX orders_status_created_at ON orders (status, created_at)`,
  `CREATE TABLE order_items (
    order_id text NOT NULL REFERENCES orders (order_id),
    sku text NOT NULL,
    line_no int NOT NULL,
    qty int NOT NULL CHECK (qty > 0),
    price bigint NOT NULL,
    discount bigint NOT NULL,
    tax bigint NOT NULL,
    line_total bigint NOT NULL,
    PRIMARY KEY (order_id, sku)
  )`,
  `CREATE TABLE payments (
    payment_id text PRIMARY KEY,
    order_id text NOT NULL,
    provider text NOT NULL,
    status text NOT NULL CHECK (status IN ('authorized', 'captured', 'voided', 'refunded', 'pending', 'failed')),
    auth_id text NULL,
    amount bigint NOT NULL CHECK (amount >= 0),
    currency text NOT NULL,
    idempotency_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX payments_order_id ON payments (order_id)`,
  `CREATE TABLE inventory_reservations (
    reservation_id text PRIMARY KEY,
    sku text NOT NULL,
    qty int NOT NULL CHECK (qty > 0),
    expires_at timestamptz NOT NULL,
    order_id text NULL,
    status text NOT NULL
  )`,
  `CREATE INDEX inventory_reservations_order_id ON inventory_reservations (order_id)`,
  `CREATE TABLE journal (
    partition int NOT NULL,
    seq bigint NOT NULL,
    epoch bigint NOT NULL,
    entity text NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partition, seq)
  )`,
  `CREATE INDEX journal_partition_entity_seq ON journal (partition, entity, seq)`,
  `CREATE TABLE snapshots (
    partition int NOT NULL,
    entity text NOT NULL,
    seq bigint NOT NULL,
    epoch bigint NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partition, entity)
  )`,
  `CREATE TABLE partition_owners (
    partition int PRIMARY KEY,
    node text NOT NULL,
    epoch bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE idempotency_keys (
    key text PRIMARY KEY,
    fingerprint text NOT NULL,
    checkout_id text NOT NULL,
    status_code int NULL,
    response jsonb NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz NULL
  )`,
  `CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)`,
  `CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    aggregate_type text NOT NULL,
    aggregate_id text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz NULL
  )`,
  `CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL`,
];

/**
 * Cluster settings and operator overrides (issue 4). `cluster_settings` records the partition count when the
 * database is first used (a partition's journal depends on it, so it never changes afterwards);
 * `cluster_overrides` holds `partitions move` pins, `isolate` isolations and `drain` marks, so a new coordinator
 * applies the same assignment as the old one.
 */
const clusterSchema: string[] = [
  `CREATE TABLE cluster_settings (
    name text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE cluster_overrides (
    kind text NOT NULL CHECK (kind IN ('pin', 'isolate', 'drain')),
    partition int NOT NULL DEFAULT -1,
    node text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, partition, node)
  )`,
];

/**
 * Issue 10: leases of the node-wide jobs (the pending-order sweep, reconciliation), so one runs at a time across the
 * cluster even while the coordinator changes hands.
 */
const jobLeaseSchema: string[] = [
  `CREATE TABLE job_leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
];

/**
 * Issue 10: what a cancel owes the stock (`restock_state`: pending until the stock is back, so recovery finishes a
 * cancel interrupted between its status change and its restock), what a payment captured and refunded, and every
 * refund, numbered per order (its provider key is `<orderId>:refund:<n>`) and recorded before the provider is asked.
 */
const refundSchema: string[] = [
  `ALTER TABLE orders ADD COLUMN restock_state text NULL CHECK (restock_state IN ('pending', 'done'))`,
  `CREATE INDEX orders_restock_pending ON orders (updated_at) WHERE restock_state = 'pending'`,
  `ALTER TABLE payments ADD COLUMN captured_minor bigint NOT NULL DEFAULT 0 CHECK (captured_minor >= 0)`,
  `ALTER TABLE payments ADD COLUMN refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor)`,
  `CREATE TABLE refunds (
    order_id text NOT NULL,
    n int NOT NULL CHECK (n >= 1),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, n)
  )`,
];

/** Issue 10: provider webhook events already handled, by their id (a provider delivers at least once). */
const webhookSchema: string[] = [
  `CREATE TABLE webhook_events (
    event_id text PRIMARY KEY,
    type text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX webhook_events_received_at ON webhook_events (received_at)`,
];

/**
 * Issue 12, events out: the outbox takes Debezium's outbox column names (`id` is now the event's stable uuid; the old
 * bigserial `id` is `position`, the relay's read order), a per-order `sequence` (counted on `orders.event_seq`), the
 * `partition` that relays it (its order's: computed by the writer; rows written before this migration get theirs from
 * the relay, see OutboxRelay) and `occurred_at`; `payload` becomes the whole event. Webhook endpoints and the delivery
 * state of each event to each endpoint (kept here, so retries survive restarts and partition moves).
 */
const eventsSchema: string[] = [
  `ALTER TABLE outbox RENAME COLUMN id TO position`,
  `ALTER TABLE outbox RENAME COLUMN aggregate_type TO aggregatetype`,
  `ALTER TABLE outbox RENAME COLUMN aggregate_id TO aggregateid`,
  `ALTER TABLE outbox RENAME COLUMN event_type TO type`,
  `ALTER TABLE outbox ADD COLUMN id uuid NULL`,
  `ALTER TABLE outbox ADD COLUMN sequence int NULL`,
  `ALTER TABLE outbox ADD COLUMN partition int NULL`,
  `ALTER TABLE outbox ADD COLUMN occurred_at timestamptz NULL`,
  `UPDATE outbox o SET id = gen_random_uuid(), occurred_at = o.created_at, sequence = s.n
   FROM (SELECT position, row_number() OVER (PARTITION BY aggregatetype, aggregateid ORDER BY position)::int AS n FROM outbox) s
   WHERE s.position = o.position`,
  `UPDATE outbox SET payload = jsonb_build_object('id', id, 'type', type, 'orderId', aggregateid, 'sequence', sequence,
     'occurredAt', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', payload)`,
  `ALTER TABLE outbox ALTER COLUMN id SET DEFAULT gen_random_uuid()`,
  `ALTER TABLE outbox ALTER COLUMN id SET NOT NULL`,
  `ALTER TABLE outbox ALTER COLUMN sequence SET NOT NULL`,
  `ALTER TABLE outbox ALTER COLUMN occurred_at SET DEFAULT now()`,
  `ALTER TABLE outbox ALTER COLUMN occurred_at SET NOT NULL`,
  `ALTER TABLE outbox ADD CONSTRAINT outbox_id_key UNIQUE (id)`,
  `ALTER TABLE outbox ADD CONSTRAINT outbox_aggregate_sequence_key UNIQUE (aggregatetype, aggregateid, sequence)`,
  `CREATE INDEX outbox_undelivered_partition ON outbox (partition, position) WHERE published_at IS NULL`,
  `ALTER TABLE orders ADD COLUMN event_seq int NOT NULL DEFAULT 0`,
  `UPDATE orders o SET event_seq = c.n
   FROM (SELECT aggregateid, max(sequence) AS n FROM outbox WHERE aggregatetype = 'order' GROUP BY aggregateid) c
   WHERE c.aggregateid = o.order_id`,
  `CREATE TABLE webhook_endpoints (
    id text PRIMARY KEY,
    url text NOT NULL,
    events text[] NOT NULL,
    secret text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE webhook_deliveries (
    endpoint_id text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    order_id text NOT NULL,
    sequence int NOT NULL,
    partition int NOT NULL,
    payload jsonb NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'parked')),
    attempts int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    first_attempt_at timestamptz NULL,
    last_error text NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (endpoint_id, event_id)
  )`,
  `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (partition, next_attempt_at) WHERE state = 'pending'`,
  `CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (endpoint_id, order_id, sequence) WHERE state <> 'delivered'`,
  `CREATE INDEX webhook_deliveries_settled ON webhook_deliveries (updated_at) WHERE state <> 'pending'`,
];

/**
 * Partial indexes for the backlog gauges (src/persistence/metric-queries.ts): each holds only the backlog (payments
 * authorized and not yet captured or voided, webhook deliveries pending), so the gauges' reads cost the size of the
 * backlog instead of a scan of the table. Plain CREATE INDEX (migrations run in a transaction): on a very large
 * `payments` table, writes to it wait while the index is built, once.
 */
const backlogIndexSchema = [
  `CREATE INDEX IF NOT EXISTS payments_authorized_created_at ON payments (created_at) WHERE status = 'authorized'`,
  `CREATE INDEX IF NOT EXISTS webhook_deliveries_pending_created_at ON webhook_deliveries (created_at) WHERE state = 'pending'`,
];

export const migrations: readonly Migration[] = [
  { version: 1, name: 'initial schema', statements: initialSchema },
  { version: 2, name: 'cluster settings and overrides', statements: clusterSchema },
  { version: 3, name: 'job leases', statements: jobLeaseSchema },
  { version: 4, name: 'restocks and refunds', statements: refundSchema },
  { version: 5, name: 'webhook events', statements: webhookSchema },
  { version: 6, name: 'events out: debezium outbox, webhook endpoints and deliveries', statements: eventsSchema },
  { version: 7, name: 'drops', statements: dropSchema },
  { version: 8, name: 'backlog gauge indexes', statements: backlogIndexSchema },
];

export async function migrate(sql: SqlClient, list: readonly Migration[] = migrations): Promise<void> {
  assertOrdered(list);
  for (const migration of list) {
    await sql.transaction((tx) => applyOnce(tx, migration));
  }
}

async function applyOnce(tx: SqlTx, migration: Migration): Promise<void> {
  // The lock comes before CREATE TABLE IF NOT EXISTS: two sessions creating the same table at once can both pass
  // the IF NOT EXISTS check and one then fails on the catalog's unique index.
  await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
  await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version int PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
  if (applied.length > 0) return;
  for (const statement of migration.statements) await tx.query(statement);
  await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())', [
    migration.version,
    migration.name,
  ]);
}

function assertOrdered(list: readonly Migration[]): void {
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1]!;
    const cur = list[i]!;
    if (!(cur.version > prev.version)) throw new Error(`migration versions must increase: ${prev.version} then ${cur.version}`);
  }
}
