import type { Promotion } from '../domain/promotions.js';
import type { SqlClient } from './sql.js';

/** The domain's promotion, stored as is (times as epoch ms). */
export type { Promotion } from '../domain/promotions.js';

interface PromotionRow {
  code: string;
  kind: Promotion['kind'];
  percent_bps: number | null;
  amount_minor: number | null;
  currency: string | null;
  min_subtotal_minor: number;
  starts_at: Date | null;
  ends_at: Date | null;
  usage_limit_total: number | null;
  usage_limit_per_customer: number | null;
}

/** Promotions and their usage counts (a promotion_usages row per confirmed order that used the code). */
export class PromotionStore {
  constructor(private readonly sql: SqlClient) {}

  /** 'exists' when the code is taken; the stored promotion is left as it was. */
  async create(p: Promotion): Promise<'created' | 'exists'> {
    const rows = await this.sql.query(
      `INSERT INTO promotions (code, kind, percent_bps, amount_minor, currency, min_subtotal_minor, starts_at, ends_at,
                               usage_limit_total, usage_limit_per_customer, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::timestamptz, $9, $10, now())
       ON CONFLICT (code) DO NOTHING
       RETURNING code`,
      [
        p.code,
        p.kind,
        p.percentBps,
        p.amountMinor,
        p.currency,
        p.minSubtotalMinor,
        msToIso(p.startsAtMs),
        msToIso(p.endsAtMs),
        p.usageLimitTotal,
        p.usageLimitPerCustomer,
      ],
    );
    return rows.length === 1 ? 'created' : 'exists';
  }

  async get(code: string): Promise<Promotion | null> {
    const [r] = await this.sql.query<PromotionRow>('SELECT * FROM promotions WHERE code = $1', [code]);
    if (r === undefined) return null;
    return {
      code: r.code,
      kind: r.kind,
      percentBps: r.percent_bps,
      amountMinor: r.amount_minor,
      currency: r.currency,
      minSubtotalMinor: r.min_subtotal_minor,
      startsAtMs: r.starts_at?.getTime() ?? null,
      endsAtMs: r.ends_at?.getTime() ?? null,
      usageLimitTotal: r.usage_limit_total,
      usageLimitPerCustomer: r.usage_limit_per_customer,
    };
  }

  /** Confirmed, not cancelled, orders that used `code`: in all, and by this customer. */
  async usage(code: string, customerKey: string): Promise<{ total: number; byCustomer: number }> {
    const [row] = await this.sql.query<{ total: number; by_customer: number }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE customer_id = $2) AS by_customer
       FROM promotion_usages WHERE code = $1`,
      [code, customerKey],
    );
    return { total: row?.total ?? 0, byCustomer: row?.by_customer ?? 0 };
  }
}

function msToIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
