import { z } from 'zod/v4';
import { dropLimits } from '../../config/limits.js';
import type { DropRoom } from '../../actors/drop-room.js';
import type { DropService } from '../../actors/drop-service.js';
import type { Failure } from '../../errors.js';
import { errorResponse } from '../error-response.js';
import type { Handler, HttpRequest, HttpResponse } from '../request.js';
import type { NodeServices } from '../services.js';
import { dbUnavailableAs503 } from './drop-gate.js';
import { isoTime, parseBody, validSku } from '../validation.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { dropSettings, dropView, ticketJoined, ticketView } from '../openapi/response-schemas.js';

const dropBody = z
  .object({
    startsAt: isoTime,
    perCustomerLimit: z.number().int().min(1).max(dropLimits.perCustomerLimitMax),
    admissionTtlMs: z.number().int().min(dropLimits.admissionTtlMsMin).max(dropLimits.admissionTtlMsMax),
  })
  .strict();

/** A customer id as checkouts take it (checkoutBody.customerId), so the token's customer is one a checkout can name. */
const joinBody = z.object({ customerId: z.string().regex(new RegExp(`^[A-Za-z0-9._:@-]{1,${dropLimits.customerIdLengthMax}}$`)) }).strict();

const failed = (f: Failure): HttpResponse => errorResponse(f.code, f.details);
const isFailure = (x: unknown): x is Failure => typeof x === 'object' && x !== null && (x as Failure).ok === false;

/** The drop of the path's SKU on this node (its owner: these routes are placed by SKU), or the error to answer. */
async function roomOf(s: NodeServices, req: HttpRequest): Promise<{ drops: DropService; room: DropRoom } | HttpResponse> {
  const sku = req.params['sku'];
  if (s.drops === undefined || !validSku(sku)) return errorResponse('DROP_NOT_FOUND', { sku });
  const room = await s.drops.room(sku);
  return isFailure(room) ? failed(room) : { drops: s.drops, room };
}

/** PUT /api/drops/:sku (admin) { startsAt, perCustomerLimit, admissionTtlMs } → 200 the drop. */
export const putDrop = (s: NodeServices): Handler => (req) => dbUnavailableAs503(putDropNow(s, req));

async function putDropNow(s: NodeServices, req: HttpRequest): Promise<HttpResponse> {
  const sku = req.params['sku'];
  if (!validSku(sku) || !s.catalog.product(sku)) return errorResponse('PRODUCT_NOT_FOUND', { sku });
  if (s.drops === undefined) return errorResponse('DROP_NOT_FOUND', { sku });
  const body = parseBody(dropBody, req.body);
  if (!body.ok) return body.response;
  const put = await s.drops.put({ sku, startsAtMs: body.value.startsAt, perCustomerLimit: body.value.perCustomerLimit, admissionTtlMs: body.value.admissionTtlMs });
  if (isFailure(put)) return failed(put);
  const at = await roomOf(s, req);
  return 'room' in at ? { status: 200, body: { ...at.drops.view(at.room), perCustomerLimit: put.perCustomerLimit, admissionTtlMs: put.admissionTtlMs } } : at;
}

/** GET /api/drops/:sku → 200 { sku, startsAt, state, queued, admitted, sold, remaining, shuffleSeed }. */
export const getDrop = (s: NodeServices): Handler => (req) => dbUnavailableAs503(getDropNow(s, req));

async function getDropNow(s: NodeServices, req: HttpRequest): Promise<HttpResponse> {
  const at = await roomOf(s, req);
  return 'room' in at ? { status: 200, body: at.drops.view(at.room) } : at;
}

/** POST /api/drops/:sku/queue { customerId } → 202 { ticket, position }; the same ticket when the customer joins again. */
export const postQueue = (s: NodeServices): Handler => (req) => dbUnavailableAs503(postQueueNow(s, req));

async function postQueueNow(s: NodeServices, req: HttpRequest): Promise<HttpResponse> {
  const at = await roomOf(s, req);
  if (!('room' in at)) return at;
  const body = parseBody(joinBody, req.body);
  if (!body.ok) return body.response;
  const t = await at.room.join(body.value.customerId);
  if (isFailure(t)) return failed(t);
  return { status: 202, body: { ticket: t.ticket, position: at.room.view(t, s.nowMs()).position } };
}

/** GET /api/drops/:sku/queue/:ticket → 200 { ticket, state, position, admissionToken?, expiresAt }. */
export const getTicket = (s: NodeServices): Handler => (req) => dbUnavailableAs503(getTicketNow(s, req));

async function getTicketNow(s: NodeServices, req: HttpRequest): Promise<HttpResponse> {
  const ticket = req.params['ticket'] ?? '';
  const at = await roomOf(s, req);
  if (!('room' in at)) return at;
  if (ticket.length === 0 || ticket.length > dropLimits.ticketLengthMax) return errorResponse('TICKET_NOT_FOUND', { ticket: ticket.slice(0, dropLimits.ticketLengthMax) });
  const v = at.drops.ticketView(at.room, ticket);
  return isFailure(v) ? failed(v) : { status: 200, body: v };
}

export const putDropDoc: RouteDoc = {
  summary: 'Mark a SKU as a drop, or change its settings (startsAt only until the start)',
  admin: true,
  partitioned: true,
  body: dropBody,
  responses: { 200: { description: 'The drop and its settings', body: dropSettings } },
  errors: ['VALIDATION_FAILED', 'PRODUCT_NOT_FOUND', 'DROP_NOT_FOUND', 'DROP_STARTED', 'DROPS_LIMIT_REACHED'],
};

export const getDropDoc: RouteDoc = {
  summary: 'A drop: its state, its queue and what is left',
  partitioned: true,
  responses: { 200: { description: 'The drop', body: dropView } },
  errors: ['DROP_NOT_FOUND'],
};

export const postQueueDoc: RouteDoc = {
  summary: "Join a drop's waiting room (joining again answers the same ticket)",
  partitioned: true,
  body: joinBody,
  responses: { 202: { description: 'The ticket and its position (null until the start)', body: ticketJoined } },
  errors: ['VALIDATION_FAILED', 'DROP_NOT_FOUND', 'DROP_QUEUE_FULL'],
};

export const getTicketDoc: RouteDoc = {
  summary: "A ticket's state, with its admission token while admitted",
  partitioned: true,
  responses: { 200: { description: 'The ticket', body: ticketView } },
  errors: ['DROP_NOT_FOUND', 'TICKET_NOT_FOUND'],
};
