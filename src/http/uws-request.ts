import * as uWS from 'uWebSockets.js';
import type { HttpRequest } from './request.js';

/**
 * Reading a uWebSockets.js request into the plain HttpRequest handlers see (request.ts): the method, path, query and
 * headers are read synchronously in the route callback (uWS's request object is only valid there); the query and
 * the peer address are decoded only if a handler asks, since most hot routes never do.
 */

const emptyParams: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The request handed to handlers. The query string is parsed on first use: most hot routes never read it. */
export class UwsHttpRequest implements HttpRequest {
  params: Record<string, string> = emptyParams;
  body: unknown = undefined;
  rawBodyBytes = 0;
  rawBody: Buffer | undefined = undefined;
  correlationId: string | undefined = undefined;
  private parsedQuery: URLSearchParams | undefined = undefined;

  constructor(
    readonly method: string,
    readonly path: string,
    private readonly rawQuery: string,
    readonly headers: Record<string, string>,
    /** The uWS response, to read the peer address only if a handler asks (most never do). */
    private readonly res: uWS.HttpResponse,
  ) {}

  private remote: string | undefined = undefined;

  /**
   * Read lazily: even reading the address from uWS was a measurable share of a sold-out answer. Valid while the
   * request is being handled; after the response is gone (aborted, answered) it is '' rather than a uWS error.
   */
  get remoteAddress(): string {
    if (this.remote === undefined) {
      try {
        this.remote = remoteAddressOf(this.res);
      } catch {
        return '';
      }
    }
    return this.remote;
  }

  get query(): URLSearchParams {
    this.parsedQuery ??= new URLSearchParams(this.rawQuery);
    return this.parsedQuery;
  }
}

// Scratch slot for collectHeader, for the same reason as the cork slots: forEach runs its callback synchronously.
let headerTarget: Record<string, string> = {};

function collectHeader(name: string, value: string): void {
  const previous = headerTarget[name];
  headerTarget[name] = previous === undefined ? value : `${previous}, ${value}`;
}

/** uWS hands header names in lower case. */
export function readHeaders(req: uWS.HttpRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  headerTarget = headers;
  req.forEach(collectHeader);
  headerTarget = {};
  return headers;
}

/** IPv4 (also when it arrives IPv4-mapped on a dual-stack socket) as dotted quad; IPv6 as uWS spells it. */
export function remoteAddressOf(res: Pick<uWS.HttpResponse, 'getRemoteAddress' | 'getRemoteAddressAsText'>): string {
  const bytes = new Uint8Array(res.getRemoteAddress());
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length === 16 && isIpv4Mapped(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  return Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Digits only, as RFC 9110 says; anything else (sign, spaces, hex, several values) is -1. */
export function parseContentLength(value: string): number {
  if (value.length === 0 || value.length > 15) return -1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(value);
}

/** application/json with optional parameters (e.g. charset), case-insensitive. */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value === 'application/json') return true;
  const semicolon = value.indexOf(';');
  const mediaType = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  return mediaType === 'application/json';
}
