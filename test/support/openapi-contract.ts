import { Router } from '../../src/http/router.js';
import type { Handler } from '../../src/http/request.js';
import { schemaProblems, type Schema } from './json-schema-check.js';

/**
 * Checks real HTTP answers against the OpenAPI document a node serves (GET /openapi.json): the path is matched the
 * way the server's router matches it, the status must be one the operation documents (or the router's 404/405), and
 * the body must validate against that response's schema. Every operation an answer was checked against is
 * remembered, so a test can ask which documented operations no request reached.
 */

export interface Exchange {
  method: string;
  /** As requested, query string allowed. */
  path: string;
  status: number;
  contentType: string | null;
  /** Parsed JSON, or the text of a non-JSON body, or undefined when empty. */
  body: unknown;
  /** The answer's headers, when the caller has them: headers the document marks required are then checked. */
  headers?: Headers;
}

export type OpenApiJson = Schema & { paths: Record<string, Record<string, Schema>>; components: { responses: Record<string, Schema> } };

export class OpenApiContract {
  private readonly router = new Router();
  private readonly operations = new Map<Handler, { key: string; op: Schema }>();
  /** 'GET /api/orders/{id} 200' for every answer checked against an operation. */
  readonly seen = new Set<string>();

  constructor(readonly doc: OpenApiJson) {
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const handler: Handler = () => ({ status: 0 });
        this.operations.set(handler, { key: `${method.toUpperCase()} ${template}`, op });
        this.router.add(method, template.replace(/\{([^}]+)\}/g, ':$1'), handler);
      }
    }
  }

  /** Every documented operation (`METHOD /template`). */
  operationKeys(): string[] {
    return [...this.operations.values()].map((o) => o.key);
  }

  /** What is wrong with one answer; empty when the document describes it. */
  problems(x: Exchange): string[] {
    const pathOnly = x.path.split('?')[0]!;
    const match = this.router.match(x.method.toUpperCase(), pathOnly);
    const name = `${x.method} ${x.path} → ${x.status}`;
    if ('notFound' in match) return this.routerAnswer(name, x, 404, 'ROUTE_NOT_FOUND');
    if ('methodNotAllowed' in match) return this.routerAnswer(name, x, 405, 'METHOD_NOT_ALLOWED');
    const { key, op } = this.operations.get(match.handler)!;
    const responses = op['responses'] as Record<string, Schema>;
    const response = responses[String(x.status)];
    if (response === undefined) return [`${name}: ${key} documents no ${x.status} (it documents ${Object.keys(responses).join(', ')}); body ${JSON.stringify(x.body)?.slice(0, 300)}`];
    this.seen.add(`${key} ${x.status}`);
    return this.bodyProblems(name, response, x);
  }

  private routerAnswer(name: string, x: Exchange, status: number, code: string): string[] {
    if (x.status !== status) return [`${name}: no documented route matches ${x.method} ${x.path} (was it added with Router.add and no { doc }?)`];
    return this.bodyProblems(name, this.doc.components.responses[code]!, x);
  }

  private bodyProblems(name: string, response: Schema, x: Exchange): string[] {
    const headers = Object.entries((response['headers'] ?? {}) as Record<string, Schema>);
    const missing = headers.filter(([h, spec]) => spec['required'] === true && x.headers !== undefined && !x.headers.has(h)).map(([h]) => `${name}: missing the ${h} header`);
    return [...missing, ...this.contentProblems(name, response, x)];
  }

  private contentProblems(name: string, response: Schema, x: Exchange): string[] {
    const content = response['content'] as Record<string, { schema: Schema }> | undefined;
    if (content === undefined) return x.body === undefined ? [] : [`${name}: documented without a body, got ${JSON.stringify(x.body).slice(0, 200)}`];
    const mediaType = (x.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const entry = content[mediaType];
    if (entry === undefined) return [`${name}: content-type ${x.contentType} is not documented (${Object.keys(content).join(', ')})`];
    return schemaProblems(entry.schema, x.body, this.doc).map((p) => `${name}: ${p}`);
  }
}
