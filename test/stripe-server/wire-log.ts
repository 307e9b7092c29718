import type { FormObject } from './form.js';

/**
 * The wire log: one entry per request received, in arrival order, filled in as the request goes through the
 * server, so a test can assert what the adapter sent (keys, capture_method, amounts, currencies) and what it got.
 */
export interface WireCall {
  /** 1, 2, 3, … in arrival order. */
  seq: number;
  /** Server clock (ms) when the request had arrived whole. */
  at: number;
  /** The `Request-Id` answered (`req_…`); events caused by the call carry it as `request.id`. */
  requestId: string;
  method: string;
  /** The path without the query. */
  path: string;
  /** The raw query string without '?', '' when none. */
  query: string;
  /** Request headers, names in lower case; the Authorization value is shortened to its scheme and last 4. */
  headers: Record<string, string>;
  idempotencyKey: string | null;
  /**
   * 'sdk' when the key has stripe-node's automatic shape `stripe-node-retry-<uuid v4>` (the SDK puts one on every
   * POST that has no key of the caller's own); 'caller' for any other key; null without a key.
   */
  idempotencyKeySource: 'sdk' | 'caller' | null;
  stripeVersion: string | null;
  /** Decoded parameters: the form body of a POST, the query of a GET; {} when they could not be decoded. */
  params: Record<string, unknown>;
  /** The scripted fault this request took, e.g. 'drop-after'; null when none. */
  fault: string | null;
  /** The status answered; null while in flight, or when no answer was sent (dropped, client gone). */
  status: number | null;
  /** True when the answer was an idempotent replay of a stored one. */
  replayed: boolean;
  /**
   * 'pending' while in flight; 'answered'; 'dropped' by a fault; 'client-gone' as soon as the server notices the
   * client closed the connection before the answer (e.g. its timeout passed during a delay or hold). A client that
   * closes just as the answer is being written may still show 'answered': the server cannot tell.
   */
  outcome: 'pending' | 'answered' | 'dropped' | 'client-gone';
  /** Server clock (ms) when the answer was sent or the socket dropped. */
  endedAt: number | null;
}

const sdkKeyPattern = /^stripe-node-retry-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function keySource(key: string | null): WireCall['idempotencyKeySource'] {
  if (key === null) return null;
  return sdkKeyPattern.test(key) ? 'sdk' : 'caller';
}

export class WireLog {
  /** Handed to tests as `server.calls`: trimmed in place, so the reference stays good. */
  readonly calls: WireCall[] = [];
  private seq = 0;

  constructor(private readonly callsMax: number) {}

  open(fields: Omit<WireCall, 'seq' | 'params' | 'fault' | 'status' | 'replayed' | 'outcome' | 'endedAt'>): WireCall {
    this.seq += 1;
    const call: WireCall = { ...fields, seq: this.seq, params: {}, fault: null, status: null, replayed: false, outcome: 'pending', endedAt: null };
    this.calls.push(call);
    // Trim a tenth at a time, so a long bench run pays for the copy once per callsMax / 10 calls.
    if (this.calls.length > this.callsMax) this.calls.splice(0, Math.max(1, Math.floor(this.callsMax / 10)));
    return call;
  }
}

/** A plain, JSON-shaped copy of decoded parameters (the decoder builds prototype-less objects). */
export function plainParams(params: FormObject): Record<string, unknown> {
  return JSON.parse(JSON.stringify(params)) as Record<string, unknown>;
}
