import { z } from 'zod/v4';
import { eventLimits } from '../../config/limits.js';
import { orderEventTypes } from '../../domain/order-events.js';
import { errorResponse } from '../error-response.js';
import type { Handler } from '../request.js';
import type { NodeServices } from '../services.js';
import { parseBody, validId } from '../validation.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { webhookEndpointCreated, webhookEndpointList, webhookEndpointView } from '../openapi/response-schemas.js';

/** Control characters, spaces and unpaired surrogates: never part of a URL we send to. */
const unsafeUrlText = /[\u0000-\u0020\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isHttpUrl(value: string): boolean {
  if (unsafeUrlText.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const webhookBody = z
  .object({
    url: z.string().min(1).max(eventLimits.webhookUrlLengthMax).refine(isHttpUrl, 'expected an absolute http:// or https:// URL'),
    events: z.array(z.enum(orderEventTypes)).min(1).max(orderEventTypes.length * 2),
  })
  .strict();

/**
 * POST /api/admin/webhooks (admin) `{ url, events }` → 201 `{ id, url, events, secret, createdAt }`: the secret is
 * shown here only. Any http(s) URL is allowed, loopback included (admins are trusted with where events go).
 */
export const postWebhookEndpoint = (s: NodeServices): Handler => async (req) => {
  const body = parseBody(webhookBody, req.body);
  if (!body.ok) return body.response;
  const made = await s.webhookEndpoints.create(body.value.url, body.value.events);
  if (made === 'limit') return errorResponse('WEBHOOK_ENDPOINT_LIMIT_REACHED', { endpointsMax: eventLimits.webhookEndpointsMax });
  return { status: 201, body: made };
};

/** GET /api/admin/webhooks (admin) → 200 `[{ id, url, events, createdAt }]`: the list the issue names, no secrets. */
export const listWebhookEndpoints = (s: NodeServices): Handler => async () => ({ status: 200, body: await s.webhookEndpoints.list() });

/** GET /api/admin/webhooks/:id (admin) → 200 `{ id, url, events, createdAt }`; 404 WEBHOOK_ENDPOINT_NOT_FOUND. */
export const getWebhookEndpoint = (s: NodeServices): Handler => async (req) => {
  const id = req.params['id'];
  const found = validId(id) ? await s.webhookEndpoints.get(id) : null;
  return found === null ? errorResponse('WEBHOOK_ENDPOINT_NOT_FOUND', { id: id?.slice(0, 80) }) : { status: 200, body: found };
};

/**
 * DELETE /api/admin/webhooks/:id (admin) → 200 `{ id, url, events, createdAt }`: its deliveries not yet made are
 * dropped; 404 WEBHOOK_ENDPOINT_NOT_FOUND (also for a second delete).
 */
export const deleteWebhookEndpoint = (s: NodeServices): Handler => async (req) => {
  const id = req.params['id'];
  const gone = validId(id) ? await s.webhookEndpoints.delete(id) : null;
  return gone === null ? errorResponse('WEBHOOK_ENDPOINT_NOT_FOUND', { id: id?.slice(0, 80) }) : { status: 200, body: gone };
};

export const postWebhookEndpointDoc: RouteDoc = {
  summary: 'Register a webhook endpoint for order events (its secret is shown in this answer only)',
  admin: true,
  body: webhookBody,
  responses: { 201: { description: 'The endpoint, with its signing secret', body: webhookEndpointCreated } },
  errors: ['VALIDATION_FAILED', 'WEBHOOK_ENDPOINT_LIMIT_REACHED'],
};

export const listWebhookEndpointsDoc: RouteDoc = {
  summary: 'The registered webhook endpoints (no secrets)',
  admin: true,
  responses: { 200: { description: 'Every endpoint', body: webhookEndpointList } },
  errors: [],
};

export const getWebhookEndpointDoc: RouteDoc = {
  summary: 'One webhook endpoint (no secret)',
  admin: true,
  responses: { 200: { description: 'The endpoint', body: webhookEndpointView } },
  errors: ['WEBHOOK_ENDPOINT_NOT_FOUND'],
};

export const deleteWebhookEndpointDoc: RouteDoc = {
  summary: 'Remove a webhook endpoint; its deliveries not yet made are dropped',
  admin: true,
  responses: { 200: { description: 'The endpoint removed', body: webhookEndpointView } },
  errors: ['WEBHOOK_ENDPOINT_NOT_FOUND'],
};
