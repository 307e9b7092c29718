import { z } from 'zod/v4';
import { errorCatalogue, type ErrorCode } from '../../errors.js';
import type { RouteEntry } from '../router.js';
import type { ResponseDoc, RouteDoc } from './route-doc.js';

/**
 * The OpenAPI 3.1 document of every route the router knows, built from each route's `doc` (src/http/openapi/
 * route-doc.ts): request schemas are the zod schemas the handlers validate with (their input side), responses the
 * schemas of src/http/openapi/response-schemas.ts, errors the catalogue's codes with its statuses. OpenAPI 3.1
 * schemas are JSON Schema 2020-12, which is what zod's toJSONSchema writes, so nothing is translated by hand.
 */

export type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, JsonSchema>> };

/** The version of the API this document describes (package.json's; a test keeps them equal). */
export const apiVersion = '0.1.0';

/** Every route can answer these: body framing (any request may carry a body) and a bug. */
const everyRouteErrors: readonly ErrorCode[] = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INTERNAL'];
const adminErrors: readonly ErrorCode[] = ['UNAUTHORIZED', 'FORBIDDEN'];
const partitionedErrors: readonly ErrorCode[] = ['PARTITION_UNAVAILABLE', 'OVERLOADED'];
/** Answered by the router before any route runs: documented once, under components.responses. */
export const routerErrors: readonly ErrorCode[] = ['ROUTE_NOT_FOUND', 'METHOD_NOT_ALLOWED'];

/** Every code a documented route can answer: its own, plus those its flags imply, ordered by status then code. */
export function routeErrorCodes(doc: RouteDoc): ErrorCode[] {
  const codes = new Set<ErrorCode>([...everyRouteErrors, ...doc.errors]);
  if (doc.admin === true) for (const c of adminErrors) codes.add(c);
  if (doc.partitioned === true) for (const c of partitionedErrors) codes.add(c);
  if (doc.whileRecovering !== true) codes.add('NOT_READY');
  return [...codes].sort((a, b) => errorCatalogue[a].status - errorCatalogue[b].status || a.localeCompare(b));
}

export function openApiDocument(routes: readonly RouteEntry[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const undocumented: string[] = [];
  for (const route of routes) {
    if (route.doc === undefined) {
      undocumented.push(`${route.method} ${route.pattern}`);
      continue;
    }
    const path = openApiPath(route.pattern);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route.method, route.pattern, route.doc);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'boxoffice',
      version: apiVersion,
      description:
        'Checkout runtime for flash sales. Every failure is `{ error: { code, message, ...details } }`; `code` is stable. ' +
        'Routes, codes and their details are described in docs/API.md.',
    },
    paths,
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <ADMIN_TOKEN>' } },
      schemas: { ErrorCode: { type: 'string', enum: Object.keys(errorCatalogue) } },
      responses: Object.fromEntries(routerErrors.map((code) => [code, errorResponse([code])])),
    },
    'x-error-catalogue': errorCatalogue,
    ...(undocumented.length > 0 ? { 'x-undocumented': undocumented } : {}),
  };
}

/** '/api/orders/:id' → '/api/orders/{id}'. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function operation(method: string, pattern: string, doc: RouteDoc): JsonSchema {
  const responses: JsonSchema = {};
  for (const [status, r] of Object.entries(doc.responses)) responses[status] = successResponse(r);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of routeErrorCodes(doc)) {
    const status = errorCatalogue[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of byStatus) responses[String(status)] = errorResponse(codes);
  const op: JsonSchema = {
    operationId: operationId(method, pattern),
    summary: doc.summary,
    tags: [tagOf(pattern)],
    parameters: parameters(pattern, doc),
    responses,
    security: doc.admin === true ? [{ adminToken: [] }] : [],
  };
  if (doc.description !== undefined) op['description'] = doc.description;
  if (doc.body !== undefined) {
    op['requestBody'] = { required: doc.bodyOptional !== true, content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } } };
  }
  return op;
}

function parameters(pattern: string, doc: RouteDoc): JsonSchema[] {
  const names = [...pattern.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  const path = names.map((name) => ({ name, in: 'path', required: true, schema: schemaOr(doc.params?.[name]) }));
  const query = Object.entries(doc.query ?? {}).map(([name, s]) => ({ name, in: 'query', required: !s.safeParse(undefined).success, schema: jsonSchema(s, 'input') }));
  const headers = Object.entries(doc.headers ?? {}).map(([name, h]) => ({ name, in: 'header', required: h.required, description: h.description, schema: jsonSchema(h.schema, 'input') }));
  return [...path, ...query, ...headers];
}

function successResponse(r: ResponseDoc): JsonSchema {
  const out: JsonSchema = { description: r.description };
  if (r.headers !== undefined) out['headers'] = headerSchemas(r.headers, false);
  if (r.body !== undefined) out['content'] = { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.body, 'output') } };
  return out;
}

/** One status's error answer: the catalogue body, `code` narrowed to the codes this route answers with it. */
function errorResponse(codes: readonly ErrorCode[]): JsonSchema {
  const status = errorCatalogue[codes[0]!].status;
  const headers: Record<string, string> = {};
  if (status === 429 || status === 503) headers['Retry-After'] = 'Seconds to wait before retrying.';
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
  if (codes.includes('METHOD_NOT_ALLOWED')) headers['Allow'] = 'The methods this path takes.';
  const error = {
    type: 'object',
    properties: { code: { type: 'string', enum: codes }, message: { type: 'string' } },
    required: ['code', 'message'],
    additionalProperties: true,
  };
  const schema = { type: 'object', properties: { error }, required: ['error'], additionalProperties: false };
  const out: JsonSchema = { description: codes.map((c) => `${c}: ${errorCatalogue[c].message}`).join(' ') };
  // The server always sends these with such an answer (errorResponse adds Retry-After to every 429 and 503).
  if (Object.keys(headers).length > 0) out['headers'] = headerSchemas(headers, true);
  out['content'] = { 'application/json': { schema } };
  return out;
}

function headerSchemas(headers: Record<string, string>, required: boolean): JsonSchema {
  return Object.fromEntries(Object.entries(headers).map(([name, description]) => [name, { description, required, schema: { type: 'string' } }]));
}

function schemaOr(s: z.ZodType | undefined): JsonSchema {
  return s === undefined ? { type: 'string' } : jsonSchema(s, 'input');
}

/**
 * zod's JSON Schema of one schema, without its `$schema` line (the document says which dialect). Schemas are inlined:
 * a `$defs` reference would point into the document's root, so one is a bug here.
 */
function jsonSchema(s: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as JsonSchema;
  if ('$defs' in schema) throw new Error('OpenAPI schemas are inlined: give no zod schema an id');
  return schema;
}

/** 'GET /api/products/:sku' → 'getApiProductsBySku'. */
function operationId(method: string, pattern: string): string {
  const words = pattern.split(/[/.\-_]/).filter((w) => w !== '').map((w) => (w.startsWith(':') ? `By${cap(w.slice(1))}` : cap(w)));
  return method.toLowerCase() + words.join('');
}

function cap(w: string): string {
  return w.charAt(0).toUpperCase() + w.slice(1);
}

/** '/api/orders/:id/ship' → 'orders'; '/healthz' → 'healthz'; '/api/admin/…' → 'admin'. */
function tagOf(pattern: string): string {
  const parts = pattern.split('/').filter((p) => p !== '');
  return (parts[0] === 'api' ? parts[1] : parts[0]) ?? 'root';
}
