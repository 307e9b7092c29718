import { STATUS_CODES } from 'node:http';
import type * as uWS from 'uWebSockets.js';
import type { HttpResponse } from './request.js';

/** Writing a response to uWS: status line, headers, body, and whether the connection closes after it. */

const jsonContentType = 'application/json; charset=utf-8';
const textContentType = 'text/plain; charset=utf-8';

/** '201' → '201 Created', precomputed because writeStatus needs the whole status line. */
const statusLines: string[] = [];
for (let status = 100; status < 600; status++) statusLines[status] = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;

/** Writes from outside a uWS callback: corked, so the status line, headers and body leave in one write. */
export function writeResponseCorked(res: uWS.HttpResponse, response: HttpResponse, body: string | undefined, closeConnection: boolean, correlationId?: string): void {
  corkRes = res;
  corkCorrelationId = correlationId;
  corkResponse = response;
  corkBody = body;
  corkClose = closeConnection;
  try {
    res.cork(writeCorked);
  } finally {
    corkRes = undefined;
    corkResponse = undefined;
    corkBody = undefined;
  }
}

// Scratch slots for writeCorked: res.cork() takes a callback with no arguments and runs it synchronously, so passing
// the response through module state avoids allocating a closure per response.
let corkRes: uWS.HttpResponse | undefined;
let corkResponse: HttpResponse | undefined;
let corkBody: string | undefined;
let corkClose = false;
let corkCorrelationId: string | undefined;

function writeCorked(): void {
  if (corkRes !== undefined && corkResponse !== undefined) writeResponse(corkRes, corkResponse, corkBody, corkClose, corkCorrelationId);
}

/**
 * Writes the status line and every header but content-type, which it returns (written last, or defaulted).
 * `correlationId`, when given, is echoed as `x-correlation-id` (docs/API.md).
 */
export function writeHead(res: uWS.HttpResponse, response: HttpResponse, correlationId?: string): string | undefined {
  res.writeStatus(statusLines[response.status] as string);
  if (correlationId !== undefined) res.writeHeader('x-correlation-id', correlationId);
  let contentType: string | undefined;
  const headers = response.headers;
  if (headers !== undefined) {
    for (const name in headers) {
      const raw: unknown = headers[name];
      // uWS throws on anything but strings and buffers; a handler writing `'retry-after': 2` is not worth a 500.
      const value = typeof raw === 'string' ? raw : String(raw);
      if (name === 'content-type') contentType = value;
      else res.writeHeader(name, value);
    }
  }
  return contentType;
}

export function writeResponse(res: uWS.HttpResponse, response: HttpResponse, body: string | undefined, closeConnection: boolean, correlationId?: string): void {
  const contentType = writeHead(res, response, correlationId);
  if (body === undefined) {
    if (contentType !== undefined) res.writeHeader('content-type', contentType);
    // This uWS build writes 'Content-Length: 0' even for 204; its endWithoutBody() does not finish the response
    // (the process aborts with "Returning from a request handler without responding"), so end() it is.
    res.end(undefined, closeConnection);
    return;
  }
  res.writeHeader('content-type', contentType ?? (typeof response.body === 'string' ? textContentType : jsonContentType));
  res.end(body, closeConnection);
}

/** A string body is sent as is; anything else as JSON. Throws (before anything is written) if JSON fails. */
export function serializeBody(response: HttpResponse): string | undefined {
  const body = response.body;
  if (body === undefined) return undefined;
  if (typeof body === 'string') return body;
  return JSON.stringify(body);
}
