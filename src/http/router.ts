import type { Handler } from './request.js';
import type { RouteDoc } from './openapi/route-doc.js';

/**
 * Maps (method, path) to a handler. Patterns are compiled once into a segment tree at startup, so matching a request
 * walks the path with indexOf and Map lookups: no regular expressions and no split() on the hot path, and fully static
 * paths (most hot routes, e.g. POST /api/checkout) are answered by a single Map lookup and a preallocated result.
 *
 * Patterns are '/'-separated segments; a segment ':name' matches one non-empty segment and binds it, percent-decoded,
 * to params.name. Static segments win over parameters at the same position. Paths are matched exactly: no trailing
 * slash folding, no case folding.
 */

export interface RouteOptions {
  /** The route needs a JSON body; a request without one gets 400 VALIDATION_FAILED. Default false. */
  bodyRequired: boolean;
  /** This route's body limit, when it differs from the server's (e.g. bulk imports). Default: the server's. */
  bodyBytesMax?: number;
  /** Keep the body's bytes as received in `req.rawBody` (signed webhooks). */
  keepRawBody?: boolean;
}

export interface RouteMatch {
  handler: Handler;
  /** The route's template ('/api/orders/:id'): `http.route` of its spans. */
  pattern: string;
  params: Record<string, string>;
  opts: RouteOptions;
}

/** What `Router.add` takes besides the handler: the route's options and its OpenAPI entry (src/http/openapi). */
export type AddOptions = Partial<RouteOptions> & { doc?: RouteDoc };

/** A route as tools see it (the OpenAPI document, tests that walk the whole API). */
export interface RouteEntry {
  method: string;
  pattern: string;
  /** Undefined for a route added without one: test/unit/http/openapi.test.ts fails for it. */
  doc: RouteDoc | undefined;
}

export type RouteLookup = RouteMatch | { notFound: true } | { methodNotAllowed: true; allow: string[] };

interface Route {
  handler: Handler;
  pattern: string;
  opts: RouteOptions;
  paramNames: readonly string[];
  /** Returned as is for routes without parameters, so a static match allocates nothing. */
  staticMatch: RouteMatch | undefined;
}

interface RouteNode {
  statics: Map<string, RouteNode>;
  param: RouteNode | undefined;
  routes: Map<string, Route>;
  allow: string[];
}

const emptyParams: Record<string, string> = Object.freeze({}) as Record<string, string>;
const notFound = Object.freeze({ notFound: true as const });
const paramNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class Router {
  private readonly root: RouteNode = newNode();
  /** Every route added, in order (for tools and tests that walk the whole API). */
  readonly routes: RouteEntry[] = [];
  /** Nodes reached by patterns without parameters, by their exact path. */
  private readonly staticPaths = new Map<string, RouteNode>();

  add(method: string, pattern: string, handler: Handler, opts?: AddOptions): this {
    const upperMethod = method.toUpperCase();
    if (!pattern.startsWith('/')) throw new Error(`Route pattern must start with '/': ${pattern}`);
    const paramNames: string[] = [];
    let node = this.root;
    for (const segment of pattern.slice(1).split('/')) {
      if (segment.startsWith(':')) {
        const name = segment.slice(1);
        if (!paramNamePattern.test(name)) throw new Error(`Bad parameter name '${name}' in route ${pattern}`);
        if (paramNames.includes(name)) throw new Error(`Parameter '${name}' appears twice in route ${pattern}`);
        paramNames.push(name);
        node.param ??= newNode();
        node = node.param;
      } else {
        let child = node.statics.get(segment);
        if (child === undefined) {
          child = newNode();
          node.statics.set(segment, child);
        }
        node = child;
      }
    }
    if (node.routes.has(upperMethod)) throw new Error(`Duplicate route ${upperMethod} ${pattern}`);
    const routeOpts: RouteOptions = { bodyRequired: opts?.bodyRequired ?? false };
    if (opts?.bodyBytesMax !== undefined) routeOpts.bodyBytesMax = opts.bodyBytesMax;
    if (opts?.keepRawBody === true) routeOpts.keepRawBody = true;
    node.routes.set(upperMethod, {
      handler,
      pattern,
      opts: routeOpts,
      paramNames,
      staticMatch: paramNames.length === 0 ? Object.freeze({ handler, pattern, params: emptyParams, opts: routeOpts }) : undefined,
    });
    node.allow = [...node.routes.keys()].sort();
    this.routes.push({ method: upperMethod, pattern, doc: opts?.doc });
    if (paramNames.length === 0) this.staticPaths.set(pattern, node);
    return this;
  }

  match(method: string, path: string): RouteLookup {
    const staticNode = this.staticPaths.get(path);
    const staticRoute = staticNode?.routes.get(method);
    if (staticRoute?.staticMatch !== undefined) return staticRoute.staticMatch;

    const values: string[] = [];
    const found = findRoute(this.root, method, path, 1, values);
    if (found !== undefined) {
      if (found.staticMatch !== undefined) return found.staticMatch;
      const params: Record<string, string> = {};
      for (let i = 0; i < found.paramNames.length; i++) {
        const value = decodeSegment(values[i] as string);
        if (value === undefined) return notFound;
        params[found.paramNames[i] as string] = value;
      }
      return { handler: found.handler, pattern: found.pattern, params, opts: found.opts };
    }
    const allow = new Set<string>();
    collectAllowed(this.root, path, 1, allow);
    return allow.size === 0 ? notFound : { methodNotAllowed: true, allow: [...allow].sort() };
  }
}

function newNode(): RouteNode {
  return { statics: new Map(), param: undefined, routes: new Map(), allow: [] };
}

/** Depth-first: static child first, then the parameter child; `values` collects parameter segments on the way. */
function findRoute(node: RouteNode, method: string, path: string, start: number, values: string[]): Route | undefined {
  const slash = path.indexOf('/', start);
  const end = slash === -1 ? path.length : slash;
  const segment = path.slice(start, end);
  const last = slash === -1;

  const child = node.statics.get(segment);
  if (child !== undefined) {
    const route = last ? child.routes.get(method) : findRoute(child, method, path, end + 1, values);
    if (route !== undefined) return route;
  }
  if (node.param !== undefined && segment.length > 0) {
    values.push(segment);
    const route = last ? node.param.routes.get(method) : findRoute(node.param, method, path, end + 1, values);
    if (route !== undefined) return route;
    values.pop();
  }
  return undefined;
}

/** Every method of every route whose pattern matches the path; only used to answer 405. */
function collectAllowed(node: RouteNode, path: string, start: number, allow: Set<string>): void {
  const slash = path.indexOf('/', start);
  const end = slash === -1 ? path.length : slash;
  const segment = path.slice(start, end);
  const next: RouteNode[] = [];
  const child = node.statics.get(segment);
  if (child !== undefined) next.push(child);
  if (node.param !== undefined && segment.length > 0) next.push(node.param);
  for (const n of next) {
    if (slash === -1) for (const m of n.allow) allow.add(m);
    else collectAllowed(n, path, end + 1, allow);
  }
}

function decodeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    // Malformed percent-encoding names no resource we have.
    return undefined;
  }
}
