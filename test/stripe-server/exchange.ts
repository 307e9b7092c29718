import type http from 'node:http';
import { internalError, invalidRequest, idempotencyKeyInUse, idempotencyMismatch, scriptedStatus, unauthorized, unknownRoute, type ApiResponse } from './errors.js';
import type { FaultScript, TakenFault } from './faults.js';
import { decodeForm, type FormDecoding, type FormObject } from './form.js';
import type { IdSource } from './ids.js';
import { requestFingerprint, type IdempotencyStore } from './idempotency.js';
import type { StripeServerLimits } from './limits.js';
import type { HandlerContext, Outcome, Route } from './route.js';
import type { StripeStore } from './store.js';
import type { WebhookOutbox } from './webhooks.js';
import { keySource, plainParams, type WireCall, type WireLog } from './wire-log.js';

/**
 * One request's way through the server. The stages, in order:
 *
 *  1. read the body whole (past bodyBytesMax the rest is drained and dropped), open the wire-log entry;
 *  2. take a scripted fault; a `status` or `drop` fault *before* acts now: nothing else happens;
 *  3. refusals that mean the endpoint never began: body too large, API key, route, content type, form decoding,
 *     the endpoint's parameter validation, an over-long key — answered, never stored;
 *  4. for a POST with an Idempotency-Key: a replay, a mismatch (400) or a key in use (409) is answered here;
 *     otherwise the key is reserved;
 *  5. a delay or hold fault *before* waits here (holding the key), then the configured latency;
 *  6. the endpoint executes (synchronously: one atomic decision); its answer is stored under the key (or the key
 *     released when the endpoint refused without changing anything) and its events go to the webhook outbox;
 *  7. a fault *after* acts: drop the socket, or wait before answering; then the answer is written.
 *
 * Latency and before-waits apply once to every answer, refusals included, so a slow server is slow for all.
 */
export interface ExchangeEnv {
  apiKey: string;
  limits: StripeServerLimits;
  now(): number;
  ids: IdSource;
  store: StripeStore;
  idempotency: IdempotencyStore;
  faults: FaultScript;
  log: WireLog;
  outbox: WebhookOutbox;
  routes: readonly Route<unknown>[];
  latencyMs(call: WireCall): number;
  sleep(ms: number): Promise<void>;
  baseUrl: string;
  searchLagMs: number;
}

export async function handleExchange(env: ExchangeEnv, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  // A write to a socket the client already closed must not become an unhandled 'error'.
  res.on('error', () => undefined);
  const body = await readBody(req, env.limits.bodyBytesMax);
  const ex = new Exchange(env, req, res, body);
  const fault = ex.fault;
  if (fault?.fault.when === 'before' && fault.fault.t === 'status') return ex.answer(scriptedStatus(fault.fault.status));
  if (fault?.fault.when === 'before' && fault.fault.t === 'drop') return ex.drop();
  const accepted = ex.accept(body);
  if ('refusal' in accepted) return ex.answer(accepted.refusal);
  const { route, path, params, scope } = accepted;
  const validation = route.validate(params, { path, limits: env.limits, apiVersion: ex.call.stripeVersion });
  if (!validation.ok) return ex.answer(validation.response);
  const key = ex.call.idempotencyKey;
  if (route.method !== 'POST' || key === null) {
    // GETs ignore keys (as at Stripe); a POST without one is processed and stored nowhere.
    const outcome = await ex.execute(route, validation.input);
    return ex.answer(outcome.response);
  }
  if (key.length > env.limits.idempotencyKeyLengthMax) {
    return ex.answer(invalidRequest(`Idempotency-Key is longer than ${env.limits.idempotencyKeyLengthMax} characters.`));
  }
  const decision = env.idempotency.begin(scope, key, requestFingerprint(route.method, ex.call.path, params));
  if (decision.kind === 'replay') return ex.answer(decision.response, true);
  if (decision.kind === 'mismatch') return ex.answer(idempotencyMismatch(key));
  if (decision.kind === 'in-flight') return ex.answer(idempotencyKeyInUse(key));
  const outcome = await ex.execute(route, validation.input);
  if (outcome.stored === false) env.idempotency.release(scope, key);
  else env.idempotency.complete(scope, key, outcome.response);
  return ex.answer(outcome.response);
}

class Exchange {
  readonly call: WireCall;
  readonly fault: TakenFault | undefined;
  /** The parameters, decoded on arrival so the wire log shows them even for a request a fault drops. */
  private readonly decoded: FormDecoding;
  private waited = false;

  constructor(
    private readonly env: ExchangeEnv,
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    body: Body,
  ) {
    const url = new URL(req.url ?? '/', 'http://stripe.test');
    const key = header(req, 'idempotency-key');
    this.call = env.log.open({
      at: env.now(),
      requestId: env.ids.id('req'),
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search.slice(1),
      headers: loggedHeaders(req),
      idempotencyKey: key,
      idempotencyKeySource: keySource(key),
      stripeVersion: header(req, 'stripe-version'),
    });
    this.decoded = body.tooLarge ? { ok: false, message: 'too large' } : decodeForm(this.call.method === 'POST' ? body.text : this.call.query, env.limits);
    if (this.decoded.ok) this.call.params = plainParams(this.decoded.params);
    // The client may close the connection while the request waits (its timeout passed): the log says so at once.
    res.once('close', () => {
      if (this.call.outcome === 'pending') this.end('client-gone', null);
    });
    this.fault = env.faults.take({ method: this.call.method, path: this.call.path, idempotencyKey: key });
    if (this.fault !== undefined) this.call.fault = `${this.fault.fault.t}-${this.fault.fault.when}`;
  }

  /** Stage 3 up to the endpoint's own validation: what the request is, or why it is refused. */
  accept(body: Body): { refusal: ApiResponse } | { route: Route<unknown>; path: string[]; params: FormObject; scope: string } {
    if (body.tooLarge) return { refusal: invalidRequest(`Request body is larger than ${this.env.limits.bodyBytesMax} bytes.`) };
    const found = findRoute(this.env.routes, this.call.method, this.call.path);
    const auth = authenticate(this.req, this.env.apiKey);
    if (found === undefined) return { refusal: 'refusal' in auth ? auth.refusal : unknownRoute(this.call.method, this.call.path) };
    if (found.route.authenticated && 'refusal' in auth) return auth;
    const isPost = this.call.method === 'POST';
    const contentType = header(this.req, 'content-type') ?? '';
    if (isPost && body.text.length > 0 && !contentType.startsWith('application/x-www-form-urlencoded')) {
      return { refusal: invalidRequest(`Invalid request: unsupported Content-Type ${contentType}. Stripe's v1 API takes application/x-www-form-urlencoded.`) };
    }
    const decoded = this.decoded;
    if (!decoded.ok) return { refusal: invalidRequest(decoded.message, decoded.param === undefined ? {} : { param: decoded.param }) };
    return { route: found.route, path: found.path, params: decoded.params, scope: 'key' in auth ? auth.key : 'unauthenticated' };
  }

  /** Stages 5 and 6: wait as scripted, then run the endpoint and hand its events to the outbox. */
  async execute(route: Route<unknown>, input: unknown): Promise<Outcome> {
    await this.waitBefore();
    const ctx: HandlerContext = {
      store: this.env.store,
      ids: this.env.ids,
      nowMs: this.env.now(),
      limits: this.env.limits,
      baseUrl: this.env.baseUrl,
      searchLagMs: this.env.searchLagMs,
    };
    let outcome: Outcome;
    try {
      outcome = route.execute(ctx, input);
    } catch (err) {
      // A bug in the server: answered 500 and stored like any executed request (Stripe replays its 500s too).
      outcome = { response: internalError(err), events: [] };
    }
    this.env.outbox.record(outcome.events, { id: this.call.requestId, idempotencyKey: this.call.idempotencyKey, apiVersion: this.call.stripeVersion });
    return outcome;
  }

  /** Stage 7: the fault after, then the answer (unless the socket is gone). */
  async answer(response: ApiResponse, replayed = false): Promise<void> {
    await this.waitBefore();
    const after = this.fault?.fault.when === 'after' ? this.fault : undefined;
    if (after?.fault.t === 'drop') return this.drop(replayed);
    if (after?.fault.t === 'delay') await this.env.sleep(after.fault.ms);
    if (after?.fault.t === 'hold') await after.released;
    // The client left while the request waited ('client-gone' is already logged), or is leaving now.
    if (this.call.outcome !== 'pending') return;
    if (this.res.destroyed || this.req.socket.destroyed) return this.end('client-gone', null);
    this.end('answered', response.status, replayed);
    this.res.writeHead(response.status, this.responseHeaders(response, replayed));
    this.res.end(JSON.stringify(response.body, null, 2));
  }

  drop(replayed = false): void {
    this.end('dropped', null, replayed);
    this.req.socket.destroy();
  }

  /** A delay or hold before, then the latency: once per request, wherever it is answered from. */
  private async waitBefore(): Promise<void> {
    if (this.waited) return;
    this.waited = true;
    const before = this.fault?.fault.when === 'before' ? this.fault : undefined;
    if (before?.fault.t === 'delay') await this.env.sleep(before.fault.ms);
    if (before?.fault.t === 'hold') await before.released;
    const latency = this.env.latencyMs(this.call);
    if (latency > 0) await this.env.sleep(latency);
  }

  private end(outcome: WireCall['outcome'], status: number | null, replayed = false): void {
    Object.assign(this.call, { outcome, status, replayed, endedAt: this.env.now() });
  }

  private responseHeaders(response: ApiResponse, replayed: boolean): Record<string, string> {
    const h: Record<string, string> = {
      'Content-Type': 'application/json',
      'Request-Id': this.call.requestId,
      'Cache-Control': 'no-cache, no-store',
      'Access-Control-Allow-Origin': '*',
    };
    if (this.call.stripeVersion !== null) h['Stripe-Version'] = this.call.stripeVersion;
    if (this.call.idempotencyKey !== null && this.call.method === 'POST') h['Idempotency-Key'] = this.call.idempotencyKey;
    if (replayed) h['Idempotent-Replayed'] = 'true';
    if (response.status === 401) h['WWW-Authenticate'] = 'Bearer realm="Stripe"';
    return h;
  }
}

interface Body {
  text: string;
  tooLarge: boolean;
}

async function readBody(req: http.IncomingMessage, bytesMax: number): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= bytesMax) chunks.push(chunk);
  }
  return { text: size <= bytesMax ? Buffer.concat(chunks).toString('utf8') : '', tooLarge: size > bytesMax };
}

function findRoute(routes: readonly Route<unknown>[], method: string, path: string): { route: Route<unknown>; path: string[] } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m === null) continue;
    try {
      return { route, path: m.slice(1).map((s) => decodeURIComponent(s)) };
    } catch {
      return undefined; // a malformed %-escape names nothing: 404
    }
  }
  return undefined;
}

/** Bearer (what stripe-node sends) or Basic with the key as user name (what `curl -u sk_test_…:` sends). */
function authenticate(req: http.IncomingMessage, apiKey: string): { key: string } | { refusal: ApiResponse } {
  const value = header(req, 'authorization');
  if (value === null) {
    return {
      refusal: unauthorized(
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      ),
    };
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(value)?.[1];
  const basic = /^Basic\s+(.+)$/i.exec(value)?.[1];
  const key = bearer ?? (basic !== undefined ? Buffer.from(basic, 'base64').toString('utf8').split(':')[0] : undefined);
  if (key === apiKey) return { key };
  return { refusal: unauthorized(`Invalid API Key provided: ${maskKey(key ?? value)}`) };
}

function maskKey(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 8)}${'*'.repeat(4)}${key.slice(-4)}`;
}

function header(req: http.IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? null) : null;
}

function loggedHeaders(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const v = Array.isArray(value) ? value.join(', ') : value;
    out[name] = name === 'authorization' ? `${v.split(' ')[0]} …${v.slice(-4)}` : v;
  }
  return out;
}
