/**
 * Every limit of the node-to-node transport, in one place. Units in the names, qualifier last. Each one says what
 * happens when it is reached.
 */
export const transportLimits = {
  /**
   * Largest frame body (msgpack bytes) a side sends or accepts. Sending a larger one rejects that request with
   * FRAME_TOO_LARGE and nothing is written; a larger reply becomes a REPLY_TOO_LARGE error reply; an incoming header
   * announcing a larger frame closes the connection before its bytes are buffered.
   */
  frameBytesMax: 1024 * 1024,
  /** Requests awaiting a reply from one peer; one more rejects at once with IN_FLIGHT_LIMIT (nothing queued). */
  requestsInFlightPerPeerMax: 8_192,
  /**
   * Requests one server connection runs at once; more get an OVERLOADED error reply without running. Above the
   * client's own limit, so only a misconfigured or foreign client meets it.
   */
  requestsInFlightPerConnectionMax: 16_384,
  /** Upper bound on a request's timeout (Node timers go through x|0: keep far below 24.8 days). */
  requestTimeoutMsMax: 60_000,
  /** A connection attempt that has not completed by then counts as failed. */
  connectTimeoutMs: 2_000,
  /** Reconnect backoff: attempt n waits about base · 2^n, capped, with jitter (see reconnectDelayMs). */
  reconnectDelayMsBase: 50,
  reconnectDelayMsMax: 2_000,
  /** Graceful close waits this long for running handlers (server) or requests in flight (client), then cuts. */
  closeDrainMsMax: 5_000,
  /** After our FIN, how long to wait for the peer's before destroying the socket. */
  closeLingerMs: 1_000,
} as const;
