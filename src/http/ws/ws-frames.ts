import { skuPattern, wsLimits } from '../../config/limits.js';
import { validId } from '../validation.js';
import { wsErrorFrame, type WsErrorFrame } from './ws-errors.js';

/**
 * What a client frame asks for, decided synchronously from its bytes (no I/O): a subscription change, a command to
 * run as the HTTP request it mirrors, or the error frame to answer. Pure, so every frame rule is a table test.
 */

export type RequestId = string | number;

/** The HTTP request a command stands for; its body is the frame without the fields that are not the body's. */
export interface CommandRequest {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export type ClientFrame =
  | { t: 'subscribe'; id: RequestId; topic: string; ticket: string | null }
  | { t: 'unsubscribe'; id: RequestId; topic: string }
  | { t: 'command'; id: RequestId; request: CommandRequest }
  | { t: 'error'; frame: WsErrorFrame };

/**
 * Each command: the route it runs, and the frame fields that travel as headers (every other field but `id` and `op`
 * is the HTTP body's, at the top level of the frame).
 */
const commands: Record<string, { path: string; headerFields: Record<string, string> }> = {
  'cart.add': { path: '/api/cart/items', headerFields: {} },
  checkout: { path: '/api/checkout', headerFields: { idempotencyKey: 'idempotency-key', admissionToken: 'admission-token' } },
};

/** The topics a socket may follow, and how each names its entity. */
const topicKinds: Record<string, (name: string) => boolean> = {
  order: (name) => validId(name),
  stock: (name) => skuPattern.test(name),
  drop: (name) => skuPattern.test(name),
};

const printable = /^[\x21-\x7e]+$/;

export function parseFrame(bytes: ArrayBuffer, isBinary: boolean): ClientFrame {
  if (isBinary) return error('MALFORMED_JSON', undefined, { reason: 'frames are JSON text, not binary' });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return error('MALFORMED_JSON', undefined);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return error('VALIDATION_FAILED', undefined, { field: '', reason: 'a frame is a JSON object' });
  const frame = value as Record<string, unknown>;
  const id = frame['id'];
  if (!isRequestId(id)) return error('VALIDATION_FAILED', undefined, { field: 'id', reason: `expected a string of 1-${wsLimits.requestIdLengthMax} printable characters or a safe integer` });
  const op = frame['op'];
  if (op === 'subscribe' || op === 'unsubscribe') return subscription(op, id, frame);
  const command = typeof op === 'string' && Object.hasOwn(commands, op) ? commands[op]! : undefined;
  if (command === undefined) return error('UNKNOWN_OP', id, { op: typeof op === 'string' ? op.slice(0, 64) : null });
  return commandFrame(id, frame, command);
}

/** Topics are `<kind>:<name>`; a valid topic names a kind we serve and a well-formed entity name. */
export function validTopic(topic: unknown): topic is string {
  if (typeof topic !== 'string') return false;
  const colon = topic.indexOf(':');
  if (colon <= 0) return false;
  const kind = topic.slice(0, colon);
  return Object.hasOwn(topicKinds, kind) && topicKinds[kind]!(topic.slice(colon + 1));
}

function subscription(op: 'subscribe' | 'unsubscribe', id: RequestId, frame: Record<string, unknown>): ClientFrame {
  const allowed = op === 'subscribe' ? ['id', 'op', 'topic', 'ticket'] : ['id', 'op', 'topic'];
  const extra = Object.keys(frame).find((k) => !allowed.includes(k));
  if (extra !== undefined) return error('VALIDATION_FAILED', id, { field: extra.slice(0, 64), reason: 'unknown field' });
  const topic = frame['topic'];
  if (!validTopic(topic)) return error('TOPIC_INVALID', id, { topic: typeof topic === 'string' ? topic.slice(0, 80) : null });
  if (op === 'unsubscribe') return { t: 'unsubscribe', id, topic };
  const ticket = frame['ticket'];
  if (ticket === undefined || ticket === null) return { t: 'subscribe', id, topic, ticket: null };
  if (!topic.startsWith('drop:')) return error('VALIDATION_FAILED', id, { field: 'ticket', reason: 'only drop:<sku> topics take a ticket' });
  if (typeof ticket !== 'string' || ticket.length > wsLimits.ticketLengthMax || !printable.test(ticket)) {
    return error('VALIDATION_FAILED', id, { field: 'ticket', reason: `expected 1-${wsLimits.ticketLengthMax} printable characters` });
  }
  return { t: 'subscribe', id, topic, ticket };
}

function commandFrame(id: RequestId, frame: Record<string, unknown>, command: { path: string; headerFields: Record<string, string> }): ClientFrame {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const body: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(frame)) {
    if (field === 'id' || field === 'op') continue;
    const header = Object.hasOwn(command.headerFields, field) ? command.headerFields[field] : undefined;
    if (header === undefined) {
      // Defined, not assigned: a field named __proto__ stays an own field, as JSON.parse leaves it in an HTTP body.
      Object.defineProperty(body, field, { value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    // A header cannot be anything but text over HTTP; here it could, and that is a bad frame, not a bad request.
    if (typeof value !== 'string') return error('VALIDATION_FAILED', id, { field, reason: 'expected a string' });
    headers[header] = value;
  }
  return { t: 'command', id, request: { method: 'POST', path: command.path, headers, body } };
}

function isRequestId(id: unknown): id is RequestId {
  if (typeof id === 'number') return Number.isSafeInteger(id);
  return typeof id === 'string' && id.length > 0 && id.length <= wsLimits.requestIdLengthMax && printable.test(id);
}

function error(code: Parameters<typeof wsErrorFrame>[0], id: RequestId | undefined, details?: Record<string, unknown>): ClientFrame {
  return { t: 'error', frame: wsErrorFrame(code, id, details) };
}
