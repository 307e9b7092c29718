import assert from 'node:assert/strict';
import { limits } from '../config/limits.js';
import { fail, type Failure } from '../errors.js';
import { applyBps, bpsPerWhole } from './money.js';

export type PromotionKind = 'percentage' | 'fixed' | 'free_shipping';

/**
 * A promotion code. Which fields are set depends on the kind; promotionProblems() lists what is wrong with a
 * promotion, and the functions here assert it is well formed.
 */
export interface Promotion {
  code: string;
  kind: PromotionKind;
  /** 1..10000 basis points off the subtotal; percentage only, null otherwise. */
  percentBps: number | null;
  /** Minor units off the subtotal, capped at the subtotal; fixed only, null otherwise. */
  amountMinor: number | null;
  /** Required for fixed (an amount means nothing without one); if set, the cart must be in this currency. */
  currency: string | null;
  /** Compared with the cart subtotal in the cart's currency (in the promotion's currency when it has one). */
  minSubtotalMinor: number;
  /** Active from startsAtMs inclusive to endsAtMs exclusive; null means unbounded on that side. */
  startsAtMs: number | null;
  endsAtMs: number | null;
  usageLimitTotal: number | null;
  usageLimitPerCustomer: number | null;
}

/** How often a promotion was used, counting only confirmed, not cancelled, orders. The caller supplies the counts. */
export interface PromoUsage {
  total: number;
  byCustomer: number;
}

export interface PromotionContext {
  subtotalMinor: number;
  currency: string;
  nowMs: number;
  usage: PromoUsage;
}

/** Whether the promotion applies to this cart now; the checks run in the order a shopper can best act on. */
export function checkPromotion(promo: Promotion, ctx: PromotionContext): { ok: true } | Failure {
  assertWellFormed(promo);
  const { startsAtMs, endsAtMs } = promo;
  if ((startsAtMs !== null && ctx.nowMs < startsAtMs) || (endsAtMs !== null && ctx.nowMs >= endsAtMs)) {
    return fail('PROMO_NOT_ACTIVE', { startsAtMs, endsAtMs });
  }
  if (promo.currency !== null && promo.currency !== ctx.currency) {
    return fail('PROMO_CURRENCY_MISMATCH', { promoCurrency: promo.currency, cartCurrency: ctx.currency });
  }
  if (ctx.subtotalMinor < promo.minSubtotalMinor) {
    return fail('PROMO_MIN_SUBTOTAL_NOT_MET', { minSubtotalMinor: promo.minSubtotalMinor });
  }
  if (promo.usageLimitTotal !== null && ctx.usage.total >= promo.usageLimitTotal) {
    return fail('PROMO_USAGE_LIMIT_REACHED', { limit: 'total' });
  }
  if (promo.usageLimitPerCustomer !== null && ctx.usage.byCustomer >= promo.usageLimitPerCustomer) {
    return fail('PROMO_USAGE_LIMIT_REACHED', { limit: 'per_customer' });
  }
  return { ok: true };
}

/**
 * The order-level discount in minor units, never more than the subtotal. free_shipping discounts no merchandise:
 * pricing zeroes the shipping instead, so the discount and the shipping stay separately visible.
 */
export function promotionDiscountMinor(promo: Promotion, subtotalMinor: number): number {
  assertWellFormed(promo);
  assert(Number.isSafeInteger(subtotalMinor) && subtotalMinor >= 0, `subtotalMinor must be >= 0, got ${subtotalMinor}`);
  switch (promo.kind) {
    case 'percentage':
      return applyBps(subtotalMinor, promo.percentBps ?? 0);
    case 'fixed':
      return Math.min(promo.amountMinor ?? 0, subtotalMinor);
    case 'free_shipping':
      return 0;
  }
}

/** What is wrong with a promotion's shape, as sentences; empty when it is well formed. Admin input uses this. */
export function promotionProblems(promo: Promotion): string[] {
  const problems: string[] = [];
  const isInt = (n: number | null, min: number, max: number): boolean =>
    n !== null && Number.isSafeInteger(n) && n >= min && n <= max;
  if (promo.kind === 'percentage' && !isInt(promo.percentBps, 1, bpsPerWhole)) {
    problems.push('percentBps must be an integer in 1..10000 for a percentage promotion.');
  }
  if (promo.kind !== 'percentage' && promo.percentBps !== null) {
    problems.push('percentBps is only for percentage promotions.');
  }
  if (promo.kind === 'fixed' && !isInt(promo.amountMinor, 1, Number.MAX_SAFE_INTEGER)) {
    problems.push('amountMinor must be a positive integer for a fixed promotion.');
  }
  if (promo.kind === 'fixed' && promo.currency === null) problems.push('currency is required for a fixed promotion.');
  if (promo.kind !== 'fixed' && promo.amountMinor !== null) problems.push('amountMinor is only for fixed promotions.');
  if (!isInt(promo.minSubtotalMinor, 0, Number.MAX_SAFE_INTEGER)) {
    problems.push('minSubtotalMinor must be a non-negative integer.');
  }
  if (promo.startsAtMs !== null && promo.endsAtMs !== null && promo.endsAtMs <= promo.startsAtMs) {
    problems.push('endsAtMs must be after startsAtMs.');
  }
  for (const limit of [promo.usageLimitTotal, promo.usageLimitPerCustomer]) {
    if (limit !== null && !isInt(limit, 0, limits.promoUsageMax)) {
      problems.push(`usage limits must be integers in 0..${limits.promoUsageMax} or null.`);
    }
  }
  return problems;
}

function assertWellFormed(promo: Promotion): void {
  const problems = promotionProblems(promo);
  assert(problems.length === 0, `malformed promotion ${promo.code}: ${problems.join(' ')}`);
}
