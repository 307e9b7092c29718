import type Stripe from 'stripe';
import type { TestCard } from './test-cards.js';

/**
 * The Stripe objects the server stores and answers, built field by field. Each builder returns the SDK's own type
 * (stripe@23's resources/*.d.ts, generated from Stripe's OpenAPI spec), so `tsc` checks that every required field
 * of the published shape is present with an allowed type. Values that boxoffice never reads are Stripe's defaults
 * for a plain card payment in test mode (null, false, empty metadata).
 */

export interface NewPaymentIntent {
  id: string;
  clientSecret: string;
  createdSec: number;
  amount: number;
  currency: string;
  captureMethod: Stripe.PaymentIntent.CaptureMethod;
  /** The automatic_payment_methods parameter as given, or null when payment_method_types was given instead. */
  automaticPaymentMethods: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
  /** allowed_payment_method_types as given (API 2026-09-30 and later), else null. */
  allowedPaymentMethodTypes: string[] | null;
  metadata: Record<string, string>;
  description: string | null;
  paymentMethod: string | null;
}

export function paymentIntentObject(p: NewPaymentIntent): Stripe.PaymentIntent {
  return {
    id: p.id,
    object: 'payment_intent',
    allowed_payment_method_types: p.allowedPaymentMethodTypes,
    amount: p.amount,
    amount_capturable: 0,
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: p.automaticPaymentMethods,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: p.captureMethod,
    client_secret: p.clientSecret,
    confirmation_method: 'automatic',
    created: p.createdSec,
    currency: p.currency,
    customer: null,
    customer_account: null,
    description: p.description,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: p.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: p.paymentMethod,
    payment_method_configuration_details: null,
    payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: p.paymentMethod === null ? 'requires_payment_method' : 'requires_confirmation',
    transfer_data: null,
    transfer_group: null,
  };
}

/** The card PaymentMethod behind a test id such as pm_card_visa (Stripe answers the same id back). */
export function paymentMethodObject(id: string, card: TestCard, createdSec: number): Stripe.PaymentMethod {
  return {
    id,
    object: 'payment_method',
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      display_brand: card.brand,
      exp_month: 12,
      exp_year: 2034,
      funding: 'credit',
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: createdSec,
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: 'card',
  };
}

export interface NewCharge {
  id: string;
  createdSec: number;
  pi: Stripe.PaymentIntent;
  paymentMethodId: string;
  card: TestCard;
  /** 'authorized': manual capture waiting; 'captured': money taken; 'failed': declined. */
  state: 'authorized' | 'captured' | 'failed';
  failure?: { code: string; declineCode: string; message: string };
}

export function chargeObject(c: NewCharge): Stripe.Charge {
  const failed = c.state === 'failed';
  const captured = c.state === 'captured';
  return {
    id: c.id,
    object: 'charge',
    amount: c.pi.amount,
    amount_captured: captured ? c.pi.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: null,
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: 'BOXOFFICE TEST',
    captured,
    created: c.createdSec,
    currency: c.pi.currency,
    customer: null,
    description: c.pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: failed ? (c.failure?.code ?? 'card_declined') : null,
    failure_message: failed ? (c.failure?.message ?? null) : null,
    fraud_details: {},
    livemode: false,
    metadata: { ...c.pi.metadata },
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: failed ? 'declined_by_network' : 'approved_by_network',
      reason: failed ? (c.failure?.declineCode ?? null) : null,
      risk_level: 'normal',
      seller_message: failed ? 'The bank did not return any further details with this decline.' : 'Payment complete.',
      type: failed ? 'issuer_declined' : 'authorized',
    },
    paid: !failed,
    payment_intent: c.pi.id,
    payment_method: c.paymentMethodId,
    payment_method_details: { card: cardDetails(c.card, failed ? null : c.pi.amount), type: 'card' },
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: failed ? 'failed' : 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

function cardDetails(card: TestCard, amountAuthorized: number | null): Stripe.Charge.PaymentMethodDetails.Card {
  return {
    amount_authorized: amountAuthorized,
    authorization_code: amountAuthorized === null ? null : '123456',
    brand: card.brand,
    checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
    country: 'US',
    electronic_commerce_indicator: null,
    exp_month: 12,
    exp_year: 2034,
    funding: 'credit',
    installments: null,
    last4: card.last4,
    mandate: null,
    network: card.brand,
    network_transaction_id: null,
    regulated_status: 'unregulated',
    three_d_secure: null,
    transaction_link_id: null,
    wallet: null,
  };
}

export interface NewRefund {
  id: string;
  createdSec: number;
  charge: Stripe.Charge;
  amount: number;
  reason: Stripe.Refund.Reason | null;
  metadata: Record<string, string>;
}

export function refundObject(r: NewRefund): Stripe.Refund {
  return {
    id: r.id,
    object: 'refund',
    amount: r.amount,
    application: null,
    balance_transaction: null,
    charge: r.charge.id,
    created: r.createdSec,
    currency: r.charge.currency,
    customer: null,
    customer_account: null,
    destination_details: { card: { type: 'refund' }, type: 'card' },
    metadata: r.metadata,
    payment_intent: typeof r.charge.payment_intent === 'string' ? r.charge.payment_intent : null,
    payment_method: r.charge.payment_method,
    reason: r.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
}
