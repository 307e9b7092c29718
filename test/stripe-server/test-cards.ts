/**
 * Stripe's test PaymentMethods (https://docs.stripe.com/testing) that the server understands, and what each does
 * when a PaymentIntent is confirmed with it. Any other id is unknown: 400 resource_missing, param payment_method.
 */
export type CardBehaviour =
  | { kind: 'approve' }
  /** A 402 card_error; `code` and `declineCode` as Stripe reports them for that test card. */
  | { kind: 'decline'; code: string; declineCode: string; message: string }
  /** 3-D Secure is required on every payment: the PaymentIntent goes to requires_action. */
  | { kind: 'authenticate' };

export interface TestCard {
  brand: string;
  last4: string;
  behaviour: CardBehaviour;
}

const approve: CardBehaviour = { kind: 'approve' };
const declined = (code: string, declineCode: string, message: string): CardBehaviour => ({ kind: 'decline', code, declineCode, message });
const genericDecline = 'Your card was declined.';

export const testCards: ReadonlyMap<string, TestCard> = new Map<string, TestCard>([
  ['pm_card_visa', { brand: 'visa', last4: '4242', behaviour: approve }],
  ['pm_card_visa_debit', { brand: 'visa', last4: '5556', behaviour: approve }],
  ['pm_card_mastercard', { brand: 'mastercard', last4: '4444', behaviour: approve }],
  ['pm_card_amex', { brand: 'amex', last4: '8431', behaviour: approve }],
  ['pm_card_discover', { brand: 'discover', last4: '1117', behaviour: approve }],
  ['pm_card_chargeDeclined', { brand: 'visa', last4: '0002', behaviour: declined('card_declined', 'generic_decline', genericDecline) }],
  [
    'pm_card_chargeDeclinedInsufficientFunds',
    { brand: 'visa', last4: '9995', behaviour: declined('card_declined', 'insufficient_funds', 'Your card has insufficient funds.') },
  ],
  ['pm_card_chargeDeclinedLostCard', { brand: 'visa', last4: '9987', behaviour: declined('card_declined', 'lost_card', genericDecline) }],
  ['pm_card_chargeDeclinedStolenCard', { brand: 'visa', last4: '9979', behaviour: declined('card_declined', 'stolen_card', genericDecline) }],
  ['pm_card_chargeDeclinedFraudulent', { brand: 'visa', last4: '0019', behaviour: declined('card_declined', 'fraudulent', genericDecline) }],
  ['pm_card_chargeDeclinedExpiredCard', { brand: 'visa', last4: '0069', behaviour: declined('expired_card', 'expired_card', 'Your card has expired.') }],
  [
    'pm_card_chargeDeclinedIncorrectCvc',
    { brand: 'visa', last4: '0127', behaviour: declined('incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect.") },
  ],
  [
    'pm_card_chargeDeclinedProcessingError',
    {
      brand: 'visa',
      last4: '0119',
      behaviour: declined('processing_error', 'processing_error', 'An error occurred while processing your card. Try again in a little bit.'),
    },
  ],
  ['pm_card_authenticationRequired', { brand: 'visa', last4: '3184', behaviour: { kind: 'authenticate' } }],
  ['pm_card_threeDSecure2Required', { brand: 'visa', last4: '3220', behaviour: { kind: 'authenticate' } }],
]);
