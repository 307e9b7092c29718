/** Branded ids: a SkuId is not interchangeable with a CartId by accident. */
export type Brand<T, B extends string> = T & { readonly __brand: B };
export type SkuId = Brand<string, 'SkuId'>;
export type CartId = Brand<string, 'CartId'>;
export type OrderId = Brand<string, 'OrderId'>;
export type CheckoutId = Brand<string, 'CheckoutId'>;
export type HoldId = Brand<string, 'HoldId'>;

export const asSku = (s: string): SkuId => s as SkuId;
export const asCartId = (s: string): CartId => s as CartId;
export const asOrderId = (s: string): OrderId => s as OrderId;
export const asCheckoutId = (s: string): CheckoutId => s as CheckoutId;
export const asHoldId = (s: string): HoldId => s as HoldId;

/** A hold id is derived from its checkout and SKU, so a re-run saga asks for the same hold (idempotent reserve). */
export const holdIdFor = (checkoutId: CheckoutId, sku: SkuId): HoldId => `${checkoutId}/${sku}` as HoldId;
