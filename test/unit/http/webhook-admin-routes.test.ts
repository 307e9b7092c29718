import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse } from '../../../src/http/request.js';
import { buildRouter } from '../../../src/http/routes/index.js';
import type { NodeServices } from '../../../src/http/services.js';
import type { CreatedWebhookEndpoint, WebhookEndpoints } from '../../../src/events/webhook-endpoints.js';
import { eventLimits } from '../../../src/config/limits.js';

/** The admin routes of outgoing webhooks, through the router with hand-made services (no socket, no database). */
const adminToken = 'unit-admin-token-0123456789';

function memoryEndpoints(max = 3): WebhookEndpoints & { secrets: Map<string, string> } {
  const rows = new Map<string, CreatedWebhookEndpoint>();
  const secrets = new Map<string, string>();
  let n = 0;
  const view = ({ secret: _s, ...rest }: CreatedWebhookEndpoint) => rest;
  return {
    secrets,
    async create(url, events) {
      if (rows.size >= max) return 'limit';
      const made = { id: `whe_${++n}`, url, events, createdAt: '2030-01-01T00:00:00.000Z', secret: `whsec_${n}` };
      rows.set(made.id, made);
      secrets.set(made.id, made.secret);
      return made;
    },
    list: async () => [...rows.values()].map(view),
    get: async (id) => (rows.has(id) ? view(rows.get(id)!) : null),
    async delete(id) {
      const row = rows.get(id);
      rows.delete(id);
      return row ? view(row) : null;
    },
  };
}

function call(s: NodeServices, method: string, path: string, opts: { body?: unknown; token?: string | null } = {}): Promise<HttpResponse> {
  const token = opts.token === undefined ? adminToken : opts.token;
  const req: HttpRequest = { method, path, params: {}, query: new URLSearchParams(), headers: token === null ? {} : { authorization: `Bearer ${token}` }, body: opts.body, rawBodyBytes: 0, remoteAddress: '127.0.0.1' };
  const match = buildRouter(s).match(method, path);
  if (!('handler' in match)) throw new Error(`no route for ${method} ${path}`);
  return Promise.resolve(match.handler({ ...req, params: match.params }));
}

const services = (endpoints: WebhookEndpoints) => ({ adminToken, ready: () => true, webhookEndpoints: endpoints }) as unknown as NodeServices;
const code = (r: HttpResponse) => (r.body as { error: { code: string } }).error.code;

describe('the webhook admin routes', () => {
  it('registers an endpoint: 201 with its secret, which no read shows again', async () => {
    const s = services(memoryEndpoints());
    const made = await call(s, 'POST', '/api/admin/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['order.confirmed', 'payment.refunded'] } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ id: 'whe_1', url: 'http://127.0.0.1:9/hook', events: ['order.confirmed', 'payment.refunded'], secret: 'whsec_1' });
    const list = await call(s, 'GET', '/api/admin/webhooks');
    expect(list).toMatchObject({ status: 200, body: [{ id: 'whe_1' }] });
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    const one = await call(s, 'GET', '/api/admin/webhooks/whe_1');
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty('secret');
    expect((await call(s, 'DELETE', '/api/admin/webhooks/whe_1')).status).toBe(200);
    expect(code(await call(s, 'GET', '/api/admin/webhooks/whe_1'))).toBe('WEBHOOK_ENDPOINT_NOT_FOUND');
    expect(code(await call(s, 'DELETE', '/api/admin/webhooks/whe_1'))).toBe('WEBHOOK_ENDPOINT_NOT_FOUND');
  });

  it.each([
    ['no URL', { events: ['order.confirmed'] }],
    ['a relative URL', { url: '/hook', events: ['order.confirmed'] }],
    ['an ftp URL', { url: 'ftp://example.com/hook', events: ['order.confirmed'] }],
    ['a javascript URL', { url: 'javascript:alert(1)', events: ['order.confirmed'] }],
    ['a URL with a control character', { url: 'http://example.com/\u0000hook', events: ['order.confirmed'] }],
    ['a URL with a space', { url: 'http://exa mple.com/', events: ['order.confirmed'] }],
    ['a URL too long', { url: `https://example.com/${'a'.repeat(eventLimits.webhookUrlLengthMax)}`, events: ['order.confirmed'] }],
    ['an unknown event type', { url: 'https://example.com/hook', events: ['order.created'] }],
    ['no event types', { url: 'https://example.com/hook', events: [] }],
    ['events not a list', { url: 'https://example.com/hook', events: 'order.confirmed' }],
    ['an unknown field', { url: 'https://example.com/hook', events: ['order.confirmed'], secret: 'mine' }],
  ])('refuses %s with 400 VALIDATION_FAILED and registers nothing', async (_name, body) => {
    const endpoints = memoryEndpoints();
    const r = await call(services(endpoints), 'POST', '/api/admin/webhooks', { body });
    expect(r.status).toBe(400);
    expect(code(r)).toBe('VALIDATION_FAILED');
    expect(await endpoints.list()).toEqual([]);
  });

  it('allows any http(s) URL, loopback included', async () => {
    const s = services(memoryEndpoints(10));
    for (const url of ['http://localhost:3000/x', 'https://[::1]:8443/h', 'http://10.0.0.1/h', 'https://hooks.example.com/a?b=c']) {
      expect((await call(s, 'POST', '/api/admin/webhooks', { body: { url, events: ['order.shipped'] } })).status, url).toBe(201);
    }
  });

  it('refuses a registration past the endpoint limit with 409 WEBHOOK_ENDPOINT_LIMIT_REACHED', async () => {
    const s = services(memoryEndpoints(1));
    expect((await call(s, 'POST', '/api/admin/webhooks', { body: { url: 'https://a.example/h', events: ['order.shipped'] } })).status).toBe(201);
    const r = await call(s, 'POST', '/api/admin/webhooks', { body: { url: 'https://b.example/h', events: ['order.shipped'] } });
    expect([r.status, code(r)]).toEqual([409, 'WEBHOOK_ENDPOINT_LIMIT_REACHED']);
  });

  it.each([
    ['POST', '/api/admin/webhooks'],
    ['GET', '/api/admin/webhooks'],
    ['GET', '/api/admin/webhooks/whe_1'],
    ['DELETE', '/api/admin/webhooks/whe_1'],
  ])('answers %s %s without the admin token 401 UNAUTHORIZED, with a wrong one 403 FORBIDDEN', async (method, path) => {
    const endpoints = memoryEndpoints();
    await endpoints.create('https://a.example/h', ['order.shipped']);
    const s = services(endpoints);
    const body = { url: 'https://b.example/h', events: ['order.shipped'] };
    expect(code(await call(s, method, path, { body, token: null }))).toBe('UNAUTHORIZED');
    expect(code(await call(s, method, path, { body, token: 'wrong-token-0123456789' }))).toBe('FORBIDDEN');
    expect(await endpoints.list()).toHaveLength(1);
  });
});
