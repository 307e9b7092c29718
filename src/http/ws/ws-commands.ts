import type { Logger } from 'pino';
import { limits } from '../../config/limits.js';
import { errorResponse } from '../error-response.js';
import type { HttpRequest, HttpResponse } from '../request.js';
import type { Router } from '../router.js';
import type { CommandRequest } from './ws-frames.js';

/**
 * A WebSocket command runs as the HTTP request it mirrors, through the same router and the same gate as HTTP: the
 * route's own validation, its placement on the entity's owner (forwarded whole in a cluster), its business rules.
 * So its answer is the status and body HTTP gives, by construction, and no rule lives twice.
 */
export interface CommandRunner {
  run(request: CommandRequest, frameBytes: number, remoteAddress: string): HttpResponse | Promise<HttpResponse>;
}

export function commandRunner(router: Router, before: ((req: HttpRequest) => HttpResponse | null) | undefined, log: Logger): CommandRunner {
  const internal = (err: unknown, req: HttpRequest): HttpResponse => {
    log.error({ err, method: req.method, path: req.path, via: 'ws' }, 'request handler failed');
    return errorResponse('INTERNAL');
  };
  const checked = (res: unknown, req: HttpRequest): HttpResponse => (isHttpResponse(res) ? res : internal(new Error(`Handler returned an invalid response for ${req.path}`), req));
  return {
    run(request, frameBytes, remoteAddress) {
      const match = router.match(request.method, request.path);
      // The commands are a fixed table of routes every node serves: a miss is a bug.
      if (!('handler' in match)) throw new Error(`no route for the WebSocket command ${request.method} ${request.path}`);
      const req: HttpRequest = { method: request.method, path: request.path, params: match.params, query: new URLSearchParams(), headers: request.headers, body: request.body, rawBodyBytes: frameBytes, remoteAddress };
      // The HTTP edge's checks before the handler, in its order (docs/API.md "Order of checks"): body size, then
      // readiness. The body is the frame less id, op and the header fields, measured only when the frame is large.
      const bodyBytesMax = match.opts.bodyBytesMax ?? limits.bodyBytesMax;
      if (frameBytes > bodyBytesMax && Buffer.byteLength(JSON.stringify(request.body)) > bodyBytesMax) return errorResponse('BODY_TOO_LARGE', { bodyBytesMax });
      let result: HttpResponse | Promise<HttpResponse>;
      try {
        const early = before?.(req) ?? null;
        if (early !== null) return early;
        result = match.handler(req);
      } catch (err) {
        return internal(err, req);
      }
      if (!(result instanceof Promise)) return checked(result, req);
      return result.then((r) => checked(r, req), (err: unknown) => internal(err, req));
    },
  };
}

function isHttpResponse(value: unknown): value is HttpResponse {
  if (typeof value !== 'object' || value === null) return false;
  const status = (value as { status?: unknown }).status;
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status < 600;
}
