/** The table-backed stores, one file each; import them from here or from their own files. */
export { CartStore, type CartRecord } from './cart-store.js';
export { IdempotencyStore, type IdempotencyRecord, type IdempotencyResponse } from './idempotency-store.js';
export { OrderStore, type OutboxEvent, type StoredOrder, type StoredOrderItem, type StoredPayment } from './order-store.js';
export { ProductStore, type Product } from './product-store.js';
export { PromotionStore, type Promotion } from './promotion-store.js';
