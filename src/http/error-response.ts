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
  if (headers !== undefined) response.headers = headers;
  return response;
}
