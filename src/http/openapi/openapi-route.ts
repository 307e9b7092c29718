import type { Handler } from '../request.js';
import type { Router } from '../router.js';
import { openApiDocument } from './openapi-document.js';
import { openApiView } from './response-schemas.js';
import type { RouteDoc } from './route-doc.js';

/**
 * GET /openapi.json: the document of every route this router serves, built on the first request and again only when
 * a route was added since, so a request costs one cached string. Public: the contract is no secret.
 */
export function serveOpenApi(router: Router): Handler {
  let cached: { routes: number; json: string } | undefined;
  return () => {
    if (cached?.routes !== router.routes.length) cached = { routes: router.routes.length, json: JSON.stringify(openApiDocument(router.routes)) };
    return { status: 200, body: cached.json, headers: { 'content-type': 'application/json' } };
  };
}

export const openApiDoc: RouteDoc = {
  summary: 'This OpenAPI 3.1 document: every route, its request schemas, its responses and its error codes',
  responses: { 200: { description: 'The OpenAPI document', body: openApiView } },
  errors: [],
  whileRecovering: true,
};
