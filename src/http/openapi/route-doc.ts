import type { z } from 'zod/v4';
import type { ErrorCode } from '../../errors.js';

/**
 * A route's entry in the OpenAPI document (GET /openapi.json), declared where the route is registered
 * (`router.add(method, pattern, handler, { doc })`). The schemas are the zod schemas the handler validates with, so
 * the document cannot drift from what the route accepts; errors are catalogue codes, their statuses come from
 * src/errors.ts. docs/openapi.md shows how to document a new route.
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** Needs `Authorization: Bearer <ADMIN_TOKEN>`; adds 401 UNAUTHORIZED and 403 FORBIDDEN. Default false. */
  admin?: boolean;
  /** Path parameters by name; a parameter not listed here is documented as a plain string. */
  params?: Record<string, z.ZodType>;
  query?: Record<string, z.ZodType>;
  /** Request headers by their canonical name (`Idempotency-Key`). */
  headers?: Record<string, HeaderDoc>;
  /** The JSON body the handler parses; required unless `bodyOptional`. */
  body?: z.ZodType;
  bodyOptional?: boolean;
  /** Success answers by status. */
  responses: Record<number, ResponseDoc>;
  /**
   * The catalogue codes this route's handler can answer. The codes every route can answer (body framing, 500
   * INTERNAL, 503 NOT_READY), the admin codes and the cluster codes are added from the flags, not listed here.
   */
  errors: readonly ErrorCode[];
  /** The entity's partition owner runs it (forwarded in a cluster): adds 503 PARTITION_UNAVAILABLE, 429 OVERLOADED. */
  partitioned?: boolean;
  /** Answered while the node recovers (the readiness gate lets it through); other routes may answer 503 NOT_READY. */
  whileRecovering?: boolean;
}

export interface ResponseDoc {
  description: string;
  /** The body's schema (its output side); absent for an empty body. */
  body?: z.ZodType;
  /** Default application/json; a string body (the Prometheus text) names its own. */
  contentType?: string;
  /** Response headers by canonical name, with what they carry. */
  headers?: Record<string, string>;
}

export interface HeaderDoc {
  description: string;
  required: boolean;
  schema: z.ZodType;
}
