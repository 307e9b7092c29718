import type { Logger } from 'pino';
import * as uWS from 'uWebSockets.js';
import { limits } from '../config/limits.js';
import { errorResponse } from './error-response.js';
import { openStream } from './response-stream.js';
import { serializeBody, writeResponse, writeResponseCorked } from './response-writer.js';
import type { Handler, HttpRequest, HttpResponse } from './request.js';
import type { RouteOptions, Router } from './router.js';
import { isJsonContentType, parseContentLength, readHeaders, UwsHttpRequest } from './uws-request.js';
import { correlationIdOf, runTraced, untracedRoutes } from './http-spans.js';
import { tracingOff, type Tracing } from '../telemetry/tracing.js';

/**
 * The uWebSockets.js edge: adapts uWS's callback API to plain handlers (request.ts) and enforces the JSON rules every
 * route shares, in this order: route (404, 405) → declared body size (413) → content type (415) → `before` gate →
 * body read, streamed size (413), JSON parse (400) → handler (500 if it throws).
 *
 * uWS rules this file follows (see the uWebSockets.js docs and examples):
 * - The uWS request object is only valid during the route callback: method, URL, query and every header are read
 *   synchronously before anything asynchronous.
 * - A response not finished inside the route callback must have onAborted attached; after an abort, or after end(),
 *   the response object must never be touched again (uWS may still deliver body chunks after end(): ignored).
 * - Writes outside the route callback (after await, inside onData) are wrapped in res.cork() so status, headers and
 *   body leave in one syscall.
 * - onData chunks are neutered when the callback returns: they are parsed in place or copied.
 * - A response with a `stream` (server-sent events) is handed to response-stream.ts, which owns it from then on.
 *
 * Per-request work is kept small for "sold out" at tens of thousands of requests per second: route matching
 * allocates nothing for static routes, the query string is parsed only if a handler reads it, status lines are
 * precomputed, and cork/forEach callbacks are module-level functions rather than per-request closures. The only
 * closures per request are onAborted and onData, which uWS requires and which take no context argument.
 */

export interface HttpServer {
  /** The port actually bound: with port 0 the OS picks a free one. */
  port: number;
  /** Stops listening and closes every open connection; in-flight requests are aborted. */
  close(): void;
}

export interface HttpServerOptions {
  port: number;
  /** Interface to bind. Default: every interface. */
  host?: string;
  router: Router;
  logger: Logger;
  /** Largest accepted request body; larger ones get 413 BODY_TOO_LARGE (see limits.bodyBytesMax). */
  bodyBytesMax: number;
  /** Told about every handler error after it has been logged and answered with 500 INTERNAL. */
  onUnhandled?: (err: unknown) => void;
  /** Runs after routing and before the body is read (req.body is undefined); a response here skips the handler. */
  before?: (req: HttpRequest) => HttpResponse | null;
  /**
   * Adds routes of other protocols to the app before the HTTP catch-all (the WebSocket API at /ws); what it returns
   * runs first when the server closes (closing those connections its own way).
   */
  mount?: (app: uWS.TemplatedApp) => () => void;
  /** Runs each routed request in a server span when on (docs/observability.md). Default: off. */
  tracing?: Tracing;
}

/** Re-exported for callers that import it from here; handlers should import it from error-response.ts. */
export { errorResponse };

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const server = new ServerCore(opts);
  const app = uWS.App();
  const unmount = opts.mount?.(app);
  app.any('/*', (res, req) => server.onRequest(res, req));
  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    const onListen = (socket: uWS.us_listen_socket | false): void => {
      if (socket === false) reject(new Error(`Could not listen on ${opts.host ?? '*'}:${opts.port}`));
      else resolve(socket);
    };
    if (opts.host === undefined) app.listen(opts.port, onListen);
    else app.listen(opts.host, opts.port, onListen);
  });
  const port = uWS.us_socket_local_port(listenSocket);
  let closed = false;
  return {
    port,
    close(): void {
      if (closed) return;
      closed = true;
      unmount?.();
      uWS.us_listen_socket_close(listenSocket);
      // app.close() (uWS ≥ 20.29) also closes kept-alive connections, so nothing holds the event loop open.
      (app as { close?: () => void }).close?.();
    },
  };
}

/** One request whose answer leaves the route callback: it waits for its body or for an async handler. */
class Exchange {
  aborted = false;
  /** A response was written (or is being written); later chunks and late handler results are dropped. */
  done = false;
  received = 0;
  chunks: Buffer[] | undefined = undefined;
  /**
   * The answer already decided for a request whose body is still arriving (413, 415, a gate's refusal): the rest of
   * the body is read and dropped, then this is written and the connection closed, so a client still sending reads
   * its answer instead of a reset (bounded by limits.lingerBytesMax and limits.lingerMs).
   */
  refusal: HttpResponse | null = null;
  lingerUntilBytes = 0;
  lingerUntilMs = 0;
  lingerTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly res: uWS.HttpResponse,
    readonly request: UwsHttpRequest,
    readonly handler: Handler,
    readonly routeOpts: RouteOptions,
    readonly pattern: string,
  ) {}
}

class ServerCore {
  private readonly router: Router;
  private readonly logger: Logger;
  private readonly bodyBytesMax: number;
  private readonly onUnhandled: ((err: unknown) => void) | undefined;
  private readonly before: ((req: HttpRequest) => HttpResponse | null) | undefined;
  private readonly tracing: Tracing;

  constructor(opts: HttpServerOptions) {
    this.tracing = opts.tracing ?? tracingOff;
    this.router = opts.router;
    this.logger = opts.logger;
    this.bodyBytesMax = opts.bodyBytesMax;
    this.onUnhandled = opts.onUnhandled;
    this.before = opts.before;
  }

  onRequest(res: uWS.HttpResponse, req: uWS.HttpRequest): void {
    // Everything from `req` is read here, synchronously: it is invalid once this callback returns.
    const method = req.getCaseSensitiveMethod();
    const path = req.getUrl();
    const rawQuery = req.getQuery() ?? '';
    const headers = readHeaders(req);
    const request = new UwsHttpRequest(method, path, rawQuery, headers, res);
    request.correlationId = correlationIdOf(headers);
    try {
      this.route(res, request);
    } catch (err) {
      // A bug in this file, not in a handler: the response may be half written, so close the connection.
      this.logger.error({ err, method, path }, 'http server failed on a request');
      res.close();
    }
  }

  private route(res: uWS.HttpResponse, request: UwsHttpRequest): void {
    const match = this.router.match(request.method, request.path);
    if ('notFound' in match) return this.writeNow(res, request, errorResponse('ROUTE_NOT_FOUND'), false);
    if ('methodNotAllowed' in match) {
      const allow = { allow: match.allow.join(', ') };
      return this.writeNow(res, request, errorResponse('METHOD_NOT_ALLOWED', undefined, allow), false);
    }
    request.params = match.params;

    // Body framing. An answer given without reading a body closes the connection, so unread bytes never get
    // parsed as the next request and a client streaming a huge body is cut off.
    const contentLength = request.headers['content-length'];
    let declaredBytes = 0;
    if (contentLength !== undefined) {
      declaredBytes = parseContentLength(contentLength);
      if (declaredBytes < 0) {
        return this.writeNow(res, request, errorResponse('VALIDATION_FAILED', { reason: 'Bad Content-Length.' }), true);
      }
      const bodyBytesMax = match.opts.bodyBytesMax ?? this.bodyBytesMax;
      if (declaredBytes > bodyBytesMax) return this.refuseBody(res, request, match, errorResponse('BODY_TOO_LARGE', { bodyBytesMax }), declaredBytes);
    }
    const hasBody = declaredBytes > 0 || request.headers['transfer-encoding'] !== undefined;
    if (hasBody && !isJsonContentType(request.headers['content-type'])) {
      return this.refuseBody(res, request, match, errorResponse('UNSUPPORTED_MEDIA_TYPE'), declaredBytes);
    }
    if (this.before !== undefined) {
      let early: HttpResponse | null;
      try {
        early = this.before(request);
      } catch (err) {
        early = this.internalError(err, request);
      }
      if (early !== null) {
        const response = this.checked(early, request);
        return hasBody ? this.refuseBody(res, request, match, response, declaredBytes) : this.writeNow(res, request, response, false);
      }
    }

    if (!hasBody) {
      if (match.opts.bodyRequired) return this.writeNow(res, request, bodyRequiredResponse(), false);
      return this.invoke(res, request, match.handler, match.opts, match.pattern);
    }
    const exchange = new Exchange(res, request, match.handler, match.opts, match.pattern);
    res.onAborted(() => {
      exchange.aborted = true;
    });
    res.onData((chunk, isLast) => this.onChunk(exchange, chunk, isLast));
  }

  /**
   * Answers `response` for a request whose body is coming: once the body has arrived (read and dropped), or at once
   * when it is declared larger than limits.lingerBytesMax; then closes the connection.
   */
  private refuseBody(res: uWS.HttpResponse, request: UwsHttpRequest, match: { handler: Handler; opts: RouteOptions; pattern: string }, response: HttpResponse, declaredBytes: number): void {
    if (declaredBytes > limits.lingerBytesMax) return this.writeNow(res, request, response, true);
    const exchange = new Exchange(res, request, match.handler, match.opts, match.pattern);
    res.onAborted(() => {
      exchange.aborted = true;
    });
    this.linger(exchange, response);
    res.onData((chunk, isLast) => this.onChunk(exchange, chunk, isLast));
  }

  /**
   * From now on the body is dropped; the refusal goes out (and the connection closes) when the body ends, when the
   * client pauses for lingerIdleMs (it is not sending, or waits for an answer), or past the byte or time bound.
   */
  private linger(exchange: Exchange, response: HttpResponse): void {
    exchange.refusal = response;
    exchange.chunks = undefined;
    exchange.lingerUntilBytes = exchange.received + limits.lingerBytesMax;
    exchange.lingerUntilMs = Date.now() + limits.lingerMs;
    this.armLinger(exchange);
  }

  private armLinger(exchange: Exchange): void {
    if (exchange.lingerTimer !== null) clearTimeout(exchange.lingerTimer);
    exchange.lingerTimer = setTimeout(() => this.finish(exchange, exchange.refusal!, true), limits.lingerIdleMs);
    exchange.lingerTimer.unref();
  }

  private onChunk(exchange: Exchange, chunk: ArrayBuffer, isLast: boolean): void {
    if (exchange.done || exchange.aborted) return;
    try {
      const bytes = chunk.byteLength;
      exchange.received += bytes;
      if (exchange.refusal !== null) {
        if (isLast || exchange.received > exchange.lingerUntilBytes || Date.now() > exchange.lingerUntilMs) this.finish(exchange, exchange.refusal, true);
        else this.armLinger(exchange);
        return;
      }
      const bodyBytesMax = exchange.routeOpts.bodyBytesMax ?? this.bodyBytesMax;
      if (exchange.received > bodyBytesMax) {
        const tooLarge = errorResponse('BODY_TOO_LARGE', { bodyBytesMax });
        if (isLast) return this.finish(exchange, tooLarge, true);
        return this.linger(exchange, tooLarge);
      }
      if (!isLast) {
        // The chunk is neutered when this callback returns: keep a copy.
        if (bytes > 0) (exchange.chunks ??= []).push(Buffer.from(Buffer.from(chunk)));
        return;
      }
      // The last chunk is parsed in place when it is the whole body (the common case): no copy.
      const view = Buffer.from(chunk);
      const body = exchange.chunks === undefined ? view : Buffer.concat([...exchange.chunks, view], exchange.received);
      exchange.chunks = undefined;
      this.onBody(exchange, body);
    } catch (err) {
      this.finish(exchange, this.internalError(err, exchange.request), false);
    }
  }

  private onBody(exchange: Exchange, body: Buffer): void {
    const request = exchange.request;
    request.rawBodyBytes = body.length;
    // A copy: the body may sit in uWS's chunk, which is neutered once the data callback returns.
    if (exchange.routeOpts.keepRawBody) request.rawBody = Buffer.from(body);
    if (body.length === 0) {
      if (exchange.routeOpts.bodyRequired) return this.finish(exchange, bodyRequiredResponse(), false);
    } else {
      try {
        request.body = JSON.parse(body.toString('utf8'));
      } catch {
        return this.finish(exchange, errorResponse('MALFORMED_JSON'), false);
      }
    }
    let result: HttpResponse | Promise<HttpResponse>;
    try {
      result = this.call(exchange.handler, request, exchange.pattern);
    } catch (err) {
      return this.finish(exchange, this.internalError(err, request), false);
    }
    if (isPromiseLike(result)) void this.finishLater(exchange, result);
    else this.finish(exchange, this.checked(result, request), false);
  }

  /** Runs a handler for a request without a body, answering inside the route callback when it is synchronous. */
  private invoke(res: uWS.HttpResponse, request: UwsHttpRequest, handler: Handler, routeOpts: RouteOptions, pattern: string): void {
    let result: HttpResponse | Promise<HttpResponse>;
    try {
      result = this.call(handler, request, pattern);
    } catch (err) {
      return this.writeNow(res, request, this.internalError(err, request), false);
    }
    if (!isPromiseLike(result)) return this.writeNow(res, request, this.checked(result, request), false);
    const exchange = new Exchange(res, request, handler, routeOpts, pattern);
    res.onAborted(() => {
      exchange.aborted = true;
    });
    void this.finishLater(exchange, result);
  }

  /** A handler call, in a server span when tracing is on (linked to the request's `traceparent`, or its child if trusted); probes untraced. */
  private call(handler: Handler, request: HttpRequest, pattern: string): HttpResponse | Promise<HttpResponse> {
    if (!this.tracing.enabled || untracedRoutes.has(pattern)) return handler(request);
    return runTraced(this.tracing, handler, request, pattern, { traceparent: request.headers['traceparent'], tracestate: request.headers['tracestate'], trusted: this.tracing.trustTraceparent });
  }

  private async finishLater(exchange: Exchange, pending: Promise<HttpResponse>): Promise<void> {
    let response: HttpResponse;
    try {
      response = this.checked(await pending, exchange.request);
    } catch (err) {
      response = this.internalError(err, exchange.request);
    }
    this.finish(exchange, response, false);
  }

  /** Writes from outside the route callback: corked, and never to an aborted or finished response. */
  private finish(exchange: Exchange, response: HttpResponse, closeConnection: boolean): void {
    if (exchange.lingerTimer !== null) clearTimeout(exchange.lingerTimer);
    if (exchange.aborted || exchange.done) return;
    exchange.done = true;
    if (response.stream !== undefined) return this.startStream(exchange.res, exchange.request, response, false);
    let body: string | undefined;
    try {
      body = serializeBody(response);
    } catch (err) {
      response = this.internalError(err, exchange.request);
      body = serializeBody(response);
    }
    try {
      writeResponseCorked(exchange.res, response, body, closeConnection, exchange.request.correlationId);
    } catch (err) {
      // A bug here would leave the client waiting for the idle timeout: log it and cut the connection instead.
      this.logger.error({ err, method: exchange.request.method, path: exchange.request.path }, 'writing a response failed');
      exchange.res.close();
    }
  }

  /** A handler's answer must be a response object with a valid status; anything else is a bug answered with 500. */
  private checked(response: unknown, request: HttpRequest): HttpResponse {
    if (isHttpResponse(response)) return response;
    return this.internalError(new Error(`Handler returned an invalid response for ${request.method} ${request.path}`), request);
  }

  /** Writes inside the route callback, where uWS has already corked the socket. */
  private writeNow(res: uWS.HttpResponse, request: HttpRequest, response: HttpResponse, closeConnection: boolean): void {
    if (response.stream !== undefined) return this.startStream(res, request, response, true);
    let body: string | undefined;
    try {
      body = serializeBody(response);
    } catch (err) {
      response = this.internalError(err, request);
      body = serializeBody(response);
    }
    writeResponse(res, response, body, closeConnection, request.correlationId);
  }

  /** A streamed answer (the dashboard's events); a start that throws is logged and the connection cut. */
  private startStream(res: uWS.HttpResponse, request: HttpRequest, response: HttpResponse, corked: boolean): void {
    try {
      openStream(res, response, response.stream!, corked);
    } catch (err) {
      this.logger.error({ err, method: request.method, path: request.path }, 'starting a stream failed');
      res.close();
    }
  }

  /** Logs the error with its stack; the client sees only the catalogue's INTERNAL message. */
  private internalError(err: unknown, request: HttpRequest): HttpResponse {
    this.logger.error({ err, method: request.method, path: request.path }, 'request handler failed');
    if (this.onUnhandled !== undefined) {
      try {
        this.onUnhandled(err);
      } catch (hookErr) {
        this.logger.error({ err: hookErr }, 'onUnhandled hook failed');
      }
    }
    return errorResponse('INTERNAL');
  }
}

function isHttpResponse(value: unknown): value is HttpResponse {
  if (typeof value !== 'object' || value === null) return false;
  const status = (value as { status?: unknown }).status;
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status < 600;
}

function isPromiseLike(value: unknown): value is Promise<HttpResponse> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function bodyRequiredResponse(): HttpResponse {
  return errorResponse('VALIDATION_FAILED', { reason: 'A JSON body is required.' });
}
