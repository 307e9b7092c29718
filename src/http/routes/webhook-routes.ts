import { errorResponse } from '../error-response.js';
import type { Handler } from '../request.js';
import type { NodeServices } from '../services.js';
import { z } from 'zod/v4';
import type { RouteDoc } from '../openapi/route-doc.js';
import { webhookReceived } from '../openapi/response-schemas.js';

export const postStripeWebhookDoc: RouteDoc = {
  summary: "Stripe's signed events (PAYMENT_PROVIDER=stripe)",
  headers: { 'Stripe-Signature': { description: 'Checked over the exact body bytes', required: true, schema: z.string() } },
  body: z.record(z.string(), z.unknown()).describe('A Stripe event'),
  responses: { 200: { description: 'Verified and handled (a duplicate too)', body: webhookReceived } },
  errors: ['WEBHOOK_SIGNATURE_INVALID'],
};

/**
 * POST /api/webhooks/stripe: the provider's signed events. The signature is checked over the exact bytes received
 * (400 WEBHOOK_SIGNATURE_INVALID otherwise, nothing changes); every verified event is answered 200 once handled, a
 * duplicate too, so the provider stops redelivering it.
 */
export const postStripeWebhook = (s: NodeServices): Handler => async (req) => {
  if (s.webhooks === null) return errorResponse('WEBHOOK_SIGNATURE_INVALID', { reason: 'this node does not take Stripe webhooks (PAYMENT_PROVIDER is not stripe)' });
  const r = await s.webhooks.receive(req.rawBody ?? Buffer.alloc(0), req.headers['stripe-signature']);
  if (!r.ok) return errorResponse('WEBHOOK_SIGNATURE_INVALID', { reason: r.reason });
  return { status: 200, body: { received: true, eventId: r.eventId, outcome: r.outcome } };
};
