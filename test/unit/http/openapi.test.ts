import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod/v4';
import { limits } from '../../../src/config/limits.js';
import { errorCatalogue, type ErrorCode } from '../../../src/errors.js';
import { apiVersion, openApiDocument, openApiPath, routeErrorCodes, type OpenApiDocument } from '../../../src/http/openapi/openapi-document.js';
import { serveOpenApi } from '../../../src/http/openapi/openapi-route.js';
import type { HttpRequest } from '../../../src/http/request.js';
import { Router } from '../../../src/http/router.js';
import { buildRouter, readinessGate } from '../../../src/http/routes/index.js';
import type { NodeServices } from '../../../src/http/services.js';
import { addItemBody, checkoutBody, productBody, promotionBody } from '../../../src/http/validation.js';
import { schemaProblems, type Schema } from '../../support/json-schema-check.js';

/**
 * The OpenAPI document (GET /openapi.json) against the router it describes: every route is in it, each with the
 * request schemas its handler validates with and every code it can answer. The answers themselves are checked
 * against it by every HTTP test (test/support/node-harness.ts) and test/integration/http/openapi-contract.test.ts.
 */
function services(overrides: Partial<NodeServices> = {}): NodeServices {
  return {
    adminToken: 'unit-admin-token-0123456789',
    nowMs: () => Date.UTC(2030, 0, 1),
    ready: () => true,
    catalog: { product: () => undefined, promotion: async () => undefined },
    inventory: { view: () => undefined },
    checkout: { inFlight: () => 0, inFlightMax: limits.checkoutsInFlightMax },
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    placement: () => null,
    webhooks: null,
    ...overrides,
  } as unknown as NodeServices;
}

function request(method: string, path: string): HttpRequest {
  return { method, path, params: {}, query: new URLSearchParams(), headers: {}, body: undefined, rawBodyBytes: 0, remoteAddress: '127.0.0.1' };
}

/** Routes the router serves that the document lacks, or documents without their doc: what must stay empty. */
function documentationGaps(router: Router): string[] {
  const doc = openApiDocument(router.routes);
  return router.routes
    .filter((r) => r.doc === undefined || doc.paths[openApiPath(r.pattern)]?.[r.method.toLowerCase()] === undefined)
    .map((r) => `${r.method} ${r.pattern}`);
}

const router = buildRouter(services());
const doc = openApiDocument(router.routes);
const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op: op as Schema })));
const requestSchema = (path: string, method: string) =>
  ((doc.paths[path]![method]!['requestBody'] as Schema)['content'] as Record<string, { schema: Schema }>)['application/json']!.schema;

describe('the OpenAPI document', () => {
  it('documents every route the router knows, and nothing else', () => {
    expect(documentationGaps(router)).toEqual([]);
    expect(doc['x-undocumented']).toBeUndefined();
    expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort()).toEqual(router.routes.map((r) => `${r.method} ${openApiPath(r.pattern)}`).sort());
  });

  it('names a route added without a doc, so the test above fails for it', () => {
    const undocumented = buildRouter(services()).add('GET', '/api/undocumented/:sku', () => ({ status: 200 }));
    expect(documentationGaps(undocumented)).toEqual(['GET /api/undocumented/:sku']);
    expect(openApiDocument(undocumented.routes)['x-undocumented']).toEqual(['GET /api/undocumented/:sku']);
  });

  it('is OpenAPI 3.1 with unique operation ids and the package version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(doc.openapi).toBe('3.1.0');
    expect(apiVersion).toBe(pkg.version);
    const ids = operations.map((o) => o.op['operationId']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('follows the OpenAPI 3.1 rules tools rely on: described responses, declared path parameters, schemas without $schema', () => {
    for (const { path, method, op } of operations) {
      const where = `${method} ${path}`;
      const templateParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op['parameters'] as Schema[]).filter((p) => p['in'] === 'path').map((p) => p['name']).sort();
      expect(declared, where).toEqual(templateParams);
      for (const p of op['parameters'] as Schema[]) expect(['path', 'query', 'header'], where).toContain(p['in']);
      for (const [status, response] of Object.entries(op['responses'] as Record<string, Schema>)) {
        expect(status, where).toMatch(/^[1-5]\d\d$/);
        expect(typeof response['description'], `${where} ${status}`).toBe('string');
      }
      expect(typeof op['summary'], where).toBe('string');
    }
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
  });

  it('carries every code of the error catalogue, each under its own status', () => {
    const seen = new Set<string>();
    // The router's own answers (404 ROUTE_NOT_FOUND, 405 METHOD_NOT_ALLOWED) are components, keyed by their code.
    const routerAnswers = Object.entries((doc['components'] as { responses: Record<string, Schema> }).responses).map(([code, r]) => [String(errorCatalogue[code as ErrorCode].status), r] as const);
    expect(routerAnswers.map(([status]) => status)).toEqual(['404', '405']);
    const responses = [...operations.flatMap((o) => Object.entries(o.op['responses'] as Record<string, Schema>)), ...routerAnswers];
    for (const [status, response] of responses) {
      const schema = (response['content'] as Record<string, { schema: Schema }> | undefined)?.['application/json']?.schema;
      const codes = ((schema?.['properties'] as Schema | undefined)?.['error'] as Schema | undefined)?.['properties'] as Record<string, Schema> | undefined;
      for (const code of (codes?.['code']?.['enum'] ?? []) as ErrorCode[]) {
        seen.add(code);
        if (status !== String(errorCatalogue[code].status)) expect.fail(`${code} documented under ${status}`);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(errorCatalogue).sort());
  });

  it('documents the error body { error: { code, message } } with the codes of each status', () => {
    const responses = doc.paths['/api/checkout']!['post']!['responses'] as Record<string, Schema>;
    const body = { error: { code: 'OUT_OF_STOCK', message: 'Not enough stock.', skus: [{ sku: 'A', requested: 2, available: 1 }] } };
    const schemaOf = (status: string) => ((responses[status]!['content'] as Record<string, { schema: Schema }>)['application/json']!).schema;
    expect(schemaProblems(schemaOf('409'), body)).toEqual([]);
    expect(schemaProblems(schemaOf('409'), { error: { code: 'CART_EMPTY', message: 'x' } })).not.toEqual([]);
    expect(schemaProblems(schemaOf('409'), { error: { code: 'OUT_OF_STOCK' } })).toEqual(["$.error: missing required 'message'"]);
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(['201', '202', '400', '402', '404', '409', '410', '422', '429', '500', '502', '503']));
  });

  it('adds 401 and 403 to admin routes, body framing and 500 to every route, 503 NOT_READY to routes gated on recovery', () => {
    for (const r of router.routes) {
      const codes = routeErrorCodes(r.doc!);
      expect(codes).toEqual(expect.arrayContaining(['VALIDATION_FAILED', 'MALFORMED_JSON', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INTERNAL']));
      expect(codes.includes('UNAUTHORIZED') && codes.includes('FORBIDDEN')).toBe(r.doc!.admin === true);
      const op = doc.paths[openApiPath(r.pattern)]![r.method.toLowerCase()]!;
      expect(op['security']).toEqual(r.doc!.admin === true ? [{ adminToken: [] }] : []);
    }
  });

  it('marks admin exactly the routes that refuse a request without the admin token', async () => {
    for (const r of router.routes) {
      const path = r.pattern.replace(/:[A-Za-z_]+/g, 'X1');
      const match = router.match(r.method, path);
      if (!('handler' in match)) throw new Error(`no match for ${path}`);
      const status = await Promise.resolve()
        .then(() => match.handler({ ...request(r.method, path), params: match.params }))
        .then((res) => res.status, () => 'threw (not an auth refusal)');
      expect({ route: `${r.method} ${r.pattern}`, unauthorized: status === 401 }).toEqual({ route: `${r.method} ${r.pattern}`, unauthorized: r.doc!.admin === true });
    }
  });

  it('marks whileRecovering exactly the routes the readiness gate lets through', () => {
    const gate = readinessGate(services({ ready: () => false }));
    for (const r of router.routes) {
      const path = r.pattern.replace(/:[A-Za-z_]+/g, 'X1');
      expect({ route: path, passes: gate(request(r.method, path)) === null }).toEqual({ route: path, passes: r.doc!.whileRecovering === true });
    }
  });

  it('describes request bodies with the very schemas the routes validate with', () => {
    const cases: [string, string, z.ZodType, unknown[]][] = [
      ['/api/checkout', 'post', checkoutBody, [
        { items: [{ sku: 'A-1', qty: 1 }], paymentMethod: 'pm_card_visa', address: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'US' } },
        { items: [{ sku: 'A-1', qty: 0 }], paymentMethod: 'pm_card_visa', address: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'US' } },
        { paymentMethod: 'pm card', address: {} },
        { cartId: 'c', paymentMethod: 'pm_card_visa', address: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'us' } },
        { cartId: 'c', paymentMethod: 'pm_card_visa', address: { name: 'A', line1: 'B', city: 'C', postalCode: '1', country: 'US' }, tip: 1 },
      ]],
      ['/api/products/{sku}', 'put', productBody, [{ name: 'T', priceMinor: 1, currency: 'USD', weightGrams: 1 }, { name: 'T', priceMinor: -1, currency: 'USD', weightGrams: 1 }, { name: 'T', priceMinor: 1, currency: 'usd', weightGrams: 1 }]],
      ['/api/cart/items', 'post', addItemBody, [{ sku: 'A', qty: 2 }, { sku: '-A', qty: 2 }, { sku: 'A', qty: 2.5 }, { sku: 'A' }]],
      ['/api/promotions', 'post', promotionBody, [{ code: 'TEN', kind: 'fixed', amountMinor: 5, currency: 'USD' }, { code: 'ten', kind: 'fixed' }, { code: 'TEN', kind: 'bogo' }, { code: 'TEN', kind: 'fixed', startsAt: null }]],
    ];
    for (const [path, method, schema, bodies] of cases) {
      for (const body of bodies) {
        expect({ path, body, accepted: schemaProblems(requestSchema(path, method), body).length === 0 }).toEqual({ path, body, accepted: schema.safeParse(body).success });
      }
    }
  });

  it('documents request headers, path and query parameters', () => {
    const checkout = doc.paths['/api/checkout']!['post']!['parameters'] as Schema[];
    expect(checkout).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }));
    const product = doc.paths['/api/products/{sku}']!['put']!['parameters'] as Schema[];
    expect(product).toContainEqual(expect.objectContaining({ name: 'sku', in: 'path', required: true, schema: expect.objectContaining({ pattern: expect.any(String) }) }));
    const partitions = doc.paths['/api/admin/partitions']!['get']!['parameters'] as Schema[];
    expect(partitions).toContainEqual(expect.objectContaining({ name: 'node', in: 'query', required: false }));
    expect((doc.paths['/api/orders/{id}/cancel']!['post']!['requestBody'] as Schema)['required']).toBe(false);
  });
});

describe('GET /openapi.json', () => {
  it('answers the document as JSON, and includes a route added after the first request', async () => {
    const r = new Router().add('GET', '/healthz', () => ({ status: 200 }), { doc: { summary: 'h', responses: { 200: { description: 'ok' } }, errors: [] } });
    const serve = serveOpenApi(r);
    const first = await serve(request('GET', '/openapi.json'));
    expect(first.status).toBe(200);
    expect(first.headers?.['content-type']).toBe('application/json');
    expect(Object.keys((JSON.parse(first.body as string) as OpenApiDocument).paths)).toEqual(['/healthz']);
    r.add('GET', '/later', () => ({ status: 200 }), { doc: { summary: 'l', responses: { 200: { description: 'ok' } }, errors: [] } });
    const second = await serve(request('GET', '/openapi.json'));
    expect(Object.keys((JSON.parse(second.body as string) as OpenApiDocument).paths)).toEqual(['/healthz', '/later']);
  });
});
