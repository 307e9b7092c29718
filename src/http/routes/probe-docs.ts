import { z } from 'zod/v4';
import type { RouteDoc } from '../openapi/route-doc.js';

/** The OpenAPI entries of the probes buildRouter defines inline (GET /healthz, /readyz, /metrics). */

export const healthzDoc: RouteDoc = {
  summary: 'Liveness: the process answers, also while recovering',
  responses: { 200: { description: 'Alive', body: z.object({ status: z.literal('ok') }) } },
  errors: [],
  whileRecovering: true,
};

export const readyzDoc: RouteDoc = {
  summary: 'Readiness: 200 once recovery finished, 503 NOT_READY before',
  responses: { 200: { description: 'Recovered', body: z.object({ ready: z.literal(true) }) } },
  // Answered while recovering, with its own NOT_READY.
  errors: ['NOT_READY'],
  whileRecovering: true,
};

export const metricsDoc: RouteDoc = {
  summary: 'Prometheus metrics (text exposition format)',
  responses: { 200: { description: 'Prometheus text exposition', body: z.string(), contentType: 'text/plain' } },
  errors: [],
  whileRecovering: true,
};
