/**
 * Why a node-to-node request failed, and what that says about its effect on the peer, which is what a caller
 * deciding whether to retry elsewhere needs:
 *
 *   not-delivered  the peer never ran the request: retrying (here or on the new owner) cannot do it twice.
 *   unknown        it may or may not have run (timeout, connection lost after sending): retry only if idempotent.
 *   handled        the peer's handler ran and threw; `remoteCode` is its error code.
 */
export type TransportErrorCode =
  | 'IN_FLIGHT_LIMIT'
  | 'PEER_UNAVAILABLE'
  | 'PEER_UNKNOWN'
  | 'FRAME_TOO_LARGE'
  | 'UNENCODABLE'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'CONNECTION_LOST'
  | 'REMOTE_ERROR';

export type TransportOutcome = 'not-delivered' | 'unknown' | 'handled';

/** Error codes the server side of the transport itself sends (the handler never ran, except REPLY_TOO_LARGE). */
export const remoteTransportCodes = {
  /** The connection already runs requestsInFlightPerConnectionMax requests. */
  overloaded: 'OVERLOADED',
  /** The server is closing and takes no new requests. */
  shuttingDown: 'SHUTTING_DOWN',
  /** The handler ran but its reply exceeds frameBytesMax. */
  replyTooLarge: 'REPLY_TOO_LARGE',
  /** The handler ran but its reply cannot be encoded as msgpack. */
  replyUnencodable: 'REPLY_UNENCODABLE',
  /** The handler threw something without a string `code`. */
  handlerError: 'HANDLER_ERROR',
} as const;

const notRunRemoteCodes = new Set<string>([remoteTransportCodes.overloaded, remoteTransportCodes.shuttingDown]);

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    readonly outcome: TransportOutcome,
    message: string,
    /** For REMOTE_ERROR: the code the peer sent. */
    readonly remoteCode?: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }

  /** The error for an ERROR frame: OVERLOADED and SHUTTING_DOWN mean the handler never ran. */
  static remote(remoteCode: string, text: string): TransportError {
    const outcome: TransportOutcome = notRunRemoteCodes.has(remoteCode) ? 'not-delivered' : 'handled';
    return new TransportError('REMOTE_ERROR', outcome, `peer answered ${remoteCode}: ${text}`, remoteCode);
  }
}
