import { errorCatalogue } from '../../errors.js';

/**
 * The codes of WebSocket error frames (`{ id?, ok: false, error: { code, message } }`) and the close codes of /ws.
 * A command's own answer is never an error frame: it is `{ id, status, body }` with the HTTP catalogue's codes. Codes
 * are permanent, like the HTTP catalogue's (src/errors.ts): where a frame fails the way a request body would, the
 * HTTP code is reused (MALFORMED_JSON, VALIDATION_FAILED, OVERLOADED), so a client switches on one vocabulary.
 * test/unit/http/ws-frames.test.ts checks that docs/websocket.md documents every code here.
 */
export const wsErrorCatalogue = {
  MALFORMED_JSON: errorCatalogue.MALFORMED_JSON.message.replace('request body', 'frame'),
  VALIDATION_FAILED: 'The frame is invalid.',
  UNKNOWN_OP: 'The frame names no op this server knows: subscribe, unsubscribe, cart.add or checkout.',
  TOPIC_INVALID: 'The topic is not order:<orderId>, stock:<sku> or drop:<sku>.',
  SUBSCRIPTIONS_LIMIT_EXCEEDED: 'This socket is subscribed to as many topics as it may be; unsubscribe first.',
  OVERLOADED: 'This socket has as many commands running as it may have; send the next when one is answered.',
} as const satisfies Record<string, string>;

export type WsErrorCode = keyof typeof wsErrorCatalogue;

/** An error frame's body, as sent (the id is echoed when the frame had a valid one). */
export interface WsErrorFrame {
  id?: string | number;
  ok: false;
  error: { code: WsErrorCode; message: string; [detail: string]: unknown };
}

export function wsErrorFrame(code: WsErrorCode, id: string | number | undefined, details?: Record<string, unknown>): WsErrorFrame {
  const error = { ...details, code, message: wsErrorCatalogue[code] };
  return id === undefined ? { ok: false, error } : { id, ok: false, error };
}

/**
 * Close codes the server sends (RFC 6455 section 7.4; 4000-4999 are the application's). A client that meets
 * 1001 or 4001 may reconnect and subscribe again; 1008 and 1009 mean it broke a limit.
 */
export const wsCloseCodes = {
  /** The node is shutting down. */
  goingAway: 1001,
  /** The socket earned more than wsLimits.errorFramesPerSocketMax error frames. */
  policyViolation: 1008,
  /** A frame was larger than wsLimits.frameBytesMax (one beyond twice that is cut by uWS without a close frame: 1006). */
  frameTooLarge: 1009,
  /** A bug in the server met this socket (logged); the node goes on. */
  internalError: 1011,
  /** The node has more open sockets than it may (raced past the upgrade's check). */
  tryAgainLater: 1013,
  /** The client read too slowly: more than wsLimits.sendBufferBytesMax waited to be sent to it. */
  slowReader: 4001,
} as const;
