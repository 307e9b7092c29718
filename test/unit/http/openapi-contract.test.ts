import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../src/http/openapi/openapi-document.js';
import { buildRouter } from '../../../src/http/routes/index.js';
import type { NodeServices } from '../../../src/http/services.js';
import { OpenApiContract, type OpenApiJson } from '../../support/openapi-contract.js';

/** The check every HTTP test runs on every answer (test/support/node-harness.ts): it must catch what breaks the document. */
const doc = JSON.parse(JSON.stringify(openApiDocument(buildRouter({ adminToken: 'x' } as unknown as NodeServices).routes))) as OpenApiJson;
const json = 'application/json';
const counts = { sku: 'A', onHand: 5, available: 5, held: 0, sold: 0 };

describe('OpenApiContract', () => {
  it('accepts answers the document describes, query strings and parameters included', () => {
    const contract = new OpenApiContract(doc);
    expect(contract.problems({ method: 'GET', path: '/api/inventory/A?x=1', status: 200, contentType: json, body: counts })).toEqual([]);
    expect(contract.problems({ method: 'GET', path: '/api/inventory/A', status: 404, contentType: 'application/json; charset=utf-8', body: { error: { code: 'PRODUCT_NOT_FOUND', message: 'm', sku: 'A' } } })).toEqual([]);
    expect(contract.problems({ method: 'GET', path: '/metrics', status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# HELP x\n' })).toEqual([]);
    expect([...contract.seen]).toEqual(['GET /api/inventory/{sku} 200', 'GET /api/inventory/{sku} 404', 'GET /metrics 200']);
  });

  it.each([
    ['a status the route does not document', { method: 'GET', path: '/api/inventory/A', status: 402, contentType: json, body: { error: { code: 'PAYMENT_DECLINED', message: 'm' } } }, 'documents no 402'],
    ['a field the schema does not name', { method: 'GET', path: '/api/inventory/A', status: 200, contentType: json, body: { ...counts, reserved: 1 } }, '$.reserved: not a documented property'],
    ['a missing field', { method: 'GET', path: '/api/inventory/A', status: 200, contentType: json, body: { sku: 'A' } }, "missing required 'onHand'"],
    ['a code the route cannot answer with that status', { method: 'GET', path: '/api/inventory/A', status: 404, contentType: json, body: { error: { code: 'ORDER_NOT_FOUND', message: 'm' } } }, 'is not one of ["PRODUCT_NOT_FOUND"]'],
    ['an undocumented content type', { method: 'GET', path: '/api/inventory/A', status: 200, contentType: 'text/html', body: '<p>' }, 'content-type text/html is not documented'],
    ['a 200 for a path no route serves', { method: 'GET', path: '/api/nothing', status: 200, contentType: json, body: {} }, 'no documented route matches GET /api/nothing (was it added with Router.add and no { doc }?)'],
    ['a 200 for a method the path does not take', { method: 'DELETE', path: '/api/inventory/A', status: 200, contentType: json, body: {} }, 'no documented route matches DELETE /api/inventory/A'],
  ])('reports %s', (_name, exchange, problem) => {
    expect(new OpenApiContract(doc).problems(exchange).join('\n')).toContain(problem);
  });

  it('checks the headers the document marks required, when the answer carries its headers', () => {
    const overloaded = { method: 'POST', path: '/api/checkout', status: 429, contentType: json, body: { error: { code: 'OVERLOADED', message: 'm' } } };
    const contract = new OpenApiContract(doc);
    expect(contract.problems({ ...overloaded, headers: new Headers({ 'retry-after': '1' }) })).toEqual([]);
    expect(contract.problems({ ...overloaded, headers: new Headers() })).toEqual(['POST /api/checkout → 429: missing the Retry-After header']);
    expect(contract.problems({ method: 'GET', path: '/api/admin/cluster', status: 401, contentType: json, body: { error: { code: 'UNAUTHORIZED', message: 'm' } }, headers: new Headers() })).toEqual([
      'GET /api/admin/cluster → 401: missing the WWW-Authenticate header',
    ]);
  });

  it("checks the router's own 404 and 405 answers against the document's components", () => {
    const contract = new OpenApiContract(doc);
    expect(contract.problems({ method: 'GET', path: '/nope', status: 404, contentType: json, body: { error: { code: 'ROUTE_NOT_FOUND', message: 'm' } } })).toEqual([]);
    expect(contract.problems({ method: 'PUT', path: '/api/checkout', status: 405, contentType: json, body: { error: { code: 'METHOD_NOT_ALLOWED', message: 'm' } } })).toEqual([]);
    expect(contract.problems({ method: 'GET', path: '/nope', status: 404, contentType: json, body: { error: { code: 'CART_NOT_FOUND', message: 'm' } } })).toHaveLength(1);
  });

  it('lists every documented operation', () => {
    const keys = new OpenApiContract(doc).operationKeys();
    expect(keys).toContain('POST /api/checkout');
    expect(keys).toContain('GET /openapi.json');
    expect(keys).toContain('DELETE /api/inventory/{sku}/holds/{holdId}');
  });
});
