import { errorBody, errorStatus, type ErrorCode } from '../errors.js';
import type { HttpResponse } from './request.js';

/**
 * A catalogue error as a response: `{ error: { code, message, ...details } }` with the catalogue's status.
 * Lives apart from server.ts so handlers and their tests never load the uWebSockets.js native module.
 */
export function errorResponse(
  code: ErrorCode,
  details?: Record<string, unknown>,
  headers?: Record<string, string>,
): HttpResponse {
  const response: HttpResponse = { status: errorStatus(code), body: errorBody(code, details) };
  // DESIGN.md: admission control answers 429 with Retry-After, whichever actor or limit refused the request; so does
  // every 503 (come back in a second unless the caller knows better).
  const status = response.status;
  if ((status === 429 || status === 503) && headers?.['retry-after'] === undefined) {
    const retryAfterS = typeof details?.['retryAfterS'] === 'number' ? details['retryAfterS'] : 1;
    headers = { ...headers, 'retry-after': String(retryAfterS) };
  }
  if (headers !== undefined) response.headers = headers;
  return response;
}
