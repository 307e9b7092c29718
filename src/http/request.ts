/**
 * What a route handler sees and returns. Handlers are plain functions of request data (STYLE.md habit 10): tests
 * build an HttpRequest literal and call the handler without a socket; the server adapts uWebSockets.js to this shape.
 */

export interface HttpRequest {
  /** Upper case, as sent: 'GET', 'POST'. */
  method: string;
  /** The path without the query string, not decoded. */
  path: string;
  /** Route parameters, percent-decoded: '/api/orders/:id' on '/api/orders/o%2F1' gives { id: 'o/1' }. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Lower-case names; repeated headers are joined with ', '. */
  headers: Record<string, string>;
  /** Parsed JSON, or undefined when the request had no body. */
  body: unknown;
  rawBodyBytes: number;
  /** The body's bytes as received, for routes that ask for them (a webhook's signature covers the exact bytes). */
  rawBody?: Buffer;
  remoteAddress: string;
}

export interface HttpResponse {
  status: number;
  /**
   * Serialized as JSON, except a string, which is sent as is with the content-type from `headers`
   * (default text/plain; charset=utf-8), e.g. for /metrics. Undefined sends an empty body.
   */
  body?: unknown;
  /** Header names in lower case; a `content-type` here overrides the JSON default. */
  headers?: Record<string, string>;
  /**
   * A streamed body instead of `body` (server-sent events): called once the status and headers are written, it must
   * write its first chunk at once (that sends the headers) and returns what stops it when the client goes away. Only
   * the HTTP edge streams; elsewhere (forwarding, WebSocket commands) it is never started.
   */
  stream?: StreamStart;
}

/**
 * Answers the forwarding layer made on this node instead of the owner (503 PARTITION_UNAVAILABLE, 429 OVERLOADED when
 * the owner is unreachable or moving): the entry node counts those, while an answer relayed from the owner is counted
 * by the owner. A mark on the object, never sent.
 */
const placementAnswers = new WeakSet<HttpResponse>();

export function markPlacementAnswer(res: HttpResponse): HttpResponse {
  placementAnswers.add(res);
  return res;
}

export function isPlacementAnswer(res: HttpResponse): boolean {
  return placementAnswers.has(res);
}

/** Where a streamed body goes (src/http/response-stream.ts). */
export interface StreamSink {
  /** Sends a chunk; false when it was dropped because the client reads slower than it is sent (or is gone). */
  write(chunk: string): boolean;
  /** Ends the response; the stop function is not called after it. */
  end(): void;
}

export type StreamStart = (sink: StreamSink) => () => void;

export type Handler = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;
