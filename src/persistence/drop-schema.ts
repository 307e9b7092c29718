/**
 * Issue 12, drops (docs/drops.md). `drops`: a SKU's drop, its admission-token key and the shuffle seed (null until
 * the start). `drop_tickets`: one per customer and drop, in arrival order (`seq`), `early` when it joined before the
 * start (shuffled at the start), and its admission once admitted. `drop_purchases`: units each customer took of a
 * drop, raised only under its limit in one conditional upsert, so two checkouts racing on any nodes cannot both pass
 * it. `drop_claims`: which checkout (by Idempotency-Key) took which units, so a retried checkout takes none twice
 * and a failed one gives its units back; the SKU's owner reads which admitted buyers hold one.
 */
export const dropSchema: string[] = [
  `CREATE TABLE drops (
    sku text PRIMARY KEY,
    starts_at timestamptz NOT NULL,
    per_customer_limit int NOT NULL CHECK (per_customer_limit >= 1),
    admission_ttl_ms int NOT NULL CHECK (admission_ttl_ms >= 5000),
    token_key text NOT NULL,
    shuffle_seed text NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE drop_tickets (
    sku text NOT NULL,
    customer_id text NOT NULL,
    ticket text NOT NULL,
    seq bigint NOT NULL,
    early boolean NOT NULL,
    admitted_at_ms bigint NULL,
    expires_at_ms bigint NULL,
    PRIMARY KEY (sku, customer_id),
    UNIQUE (sku, ticket),
    UNIQUE (sku, seq)
  )`,
  `CREATE TABLE drop_purchases (
    sku text NOT NULL,
    customer_id text NOT NULL,
    qty int NOT NULL CHECK (qty >= 0),
    PRIMARY KEY (sku, customer_id)
  )`,
  `CREATE TABLE drop_claims (
    id bigserial PRIMARY KEY,
    sku text NOT NULL,
    claim_key text NOT NULL,
    customer_id text NOT NULL,
    qty int NOT NULL CHECK (qty > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sku, claim_key)
  )`,
  `CREATE INDEX drop_claims_sku_customer ON drop_claims (sku, customer_id)`,
];
