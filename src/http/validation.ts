import { z } from 'zod/v4';
import { currencyPattern, countryPattern, limits, promoCodePattern, skuPattern } from '../config/limits.js';
import type { HttpResponse } from './request.js';
import { errorResponse } from './error-response.js';

/**
 * Request schemas (zod: declarative, well kept, precise paths in its errors). A body that fails a schema gets
 * 400 VALIDATION_FAILED naming the first bad field; quantity limits get their own codes because a storefront acts
 * on them. Nothing is changed before validation passes.
 *
 * The zod 4 API (`zod/v4`, shipped inside the zod 3.25 package we depend on): it parses a checkout body several
 * times faster than the v3 API, which was the largest cost of a sold-out answer (bench/README.md: 25.5k → 29.8k
 * sold-out answers/s on the steady-state command). Everything that hands schemas to parseBody uses it; the config
 * and CLI schemas, which never meet these, stay on the v3 API.
 */
/**
 * Control characters (C0, DEL, C1) and unpaired UTF-16 surrogates: refused in every free-text field. PostgreSQL's
 * text and jsonb refuse U+0000 and cannot store a lone surrogate, so such a value would pass here and fail only at the
 * order write, after stock was pinned and a payment authorized; and no storefront means them.
 */
const unsafeText = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unsafeTextReason = 'must not contain control characters or unpaired surrogates';
const safeString = () => z.string().refine((v) => !unsafeText.test(v), unsafeTextReason);
const text = safeString().trim().min(1).max(limits.textLengthMax);
export const skuSchema = z.string().regex(skuPattern, 'expected 1-64 of A-Z a-z 0-9 . _ : - starting alphanumeric');
const id = safeString().min(1).max(limits.idLengthMax);
/** Quantities are positive whole numbers; the upper limit is checked separately (422 QUANTITY_LIMIT_EXCEEDED). */
const qty = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const productBody = z
  .object({
    name: text,
    priceMinor: z.number().int().min(0).max(limits.priceMinorMax),
    currency: z.string().regex(currencyPattern, 'expected an ISO 4217 code such as USD'),
    weightGrams: z.number().int().min(0).max(limits.weightGramsMax),
    taxCategory: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/).default('standard'),
  })
  .strict();

export const inventoryBody = z.object({ onHand: z.number().int().min(0).max(limits.onHandMax) }).strict();

export const addItemBody = z.object({ cartId: id.optional(), sku: skuSchema, qty }).strict();
export const setItemBody = z.object({ cartId: id, sku: skuSchema, qty: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict();
export const promoBody = z.object({ code: z.string().regex(promoCodePattern, 'expected 1-32 of A-Z 0-9 _ -') }).strict();

/**
 * ISO 8601 date-times with an offset. zod's v4 API wants the offset as ±hh:mm; ±hhmm (which its v3 API and
 * Date.parse accept) is turned into that form first, so a request that was valid before the v4 API still is.
 */
const offsetWithoutColon = /([+-]\d{2})(\d{2})$/;
export const isoTime = z
  .string()
  .transform((s) => s.replace(offsetWithoutColon, '$1:$2'))
  .pipe(z.string().datetime({ offset: true }))
  .transform((s) => Date.parse(s));
export const promotionBody = z
  .object({
    code: z.string().regex(promoCodePattern, 'expected 1-32 of A-Z 0-9 _ -'),
    kind: z.enum(['percentage', 'fixed', 'free_shipping']),
    percentBps: z.number().int().min(1).max(10_000).nullish(),
    amountMinor: z.number().int().min(1).max(limits.priceMinorMax).nullish(),
    currency: z.string().regex(currencyPattern).nullish(),
    minSubtotalMinor: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    startsAt: isoTime.nullish(),
    endsAt: isoTime.nullish(),
    usageLimitTotal: z.number().int().min(1).max(limits.promoUsageMax).nullish(),
    usageLimitPerCustomer: z.number().int().min(1).max(limits.promoUsageMax).nullish(),
  })
  .strict();

export const addressSchema = z
  .object({
    name: text,
    line1: text,
    line2: text.optional(),
    city: text,
    postalCode: safeString().trim().min(1).max(16),
    country: z.string().regex(countryPattern, 'expected an ISO 3166-1 alpha-2 code such as US'),
    region: z.string().regex(/^[A-Z0-9]{1,3}$/).nullish(),
  })
  .strict();

export const checkoutBody = z
  .object({
    cartId: id.optional(),
    items: z.array(z.object({ sku: skuSchema, qty }).strict()).min(1).optional(),
    paymentMethod: z.string().regex(/^[A-Za-z0-9_]{1,100}$/, 'expected a payment method id such as pm_card_visa'),
    address: addressSchema,
    shippingMethod: z.enum(['standard', 'express']).default('standard'),
    customerId: z.string().regex(/^[A-Za-z0-9._:@-]{1,64}$/).optional(),
    promoCode: z.string().regex(promoCodePattern).optional(),
  })
  .strict()
  .refine((b) => (b.cartId === undefined) !== (b.items === undefined), { message: 'send exactly one of cartId or items', path: ['cartId'] });

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: HttpResponse };

/** Parses a body against a schema; the failure names the field and the expectation. */
export function parseBody<S extends z.ZodTypeAny>(schema: S, body: unknown): Parsed<z.output<S>> {
  if (body === undefined) return { ok: false, response: errorResponse('VALIDATION_FAILED', { field: '', reason: 'a JSON body is required' }) };
  const r = schema.safeParse(body);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, response: errorResponse('VALIDATION_FAILED', { field: issue.path.join('.'), reason: issue.message }) };
}

/** 422 QUANTITY_LIMIT_EXCEEDED for a line above the limit, checked after the schema accepted the number. */
export function quantityProblem(lines: { sku: string; qty: number }[]): HttpResponse | null {
  if (lines.length > limits.cartLinesMax) return errorResponse('CART_LINES_LIMIT_EXCEEDED', { max: limits.cartLinesMax });
  const over = lines.find((l) => l.qty > limits.lineQtyMax);
  return over ? errorResponse('QUANTITY_LIMIT_EXCEEDED', { sku: over.sku, max: limits.lineQtyMax }) : null;
}

/**
 * Path parameters that cannot name anything (too long, control characters, unpaired surrogates: PostgreSQL refuses
 * U+0000 in text) are simply not found, without a query.
 */
export function validId(value: string | undefined): value is string {
  return value !== undefined && value.length > 0 && value.length <= limits.idLengthMax && !unsafeText.test(value);
}

export function validSku(value: string | undefined): value is string {
  return value !== undefined && skuPattern.test(value);
}
