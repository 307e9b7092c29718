import { z } from 'zod/v4';
import { AdminError, type AdminOp } from '../../actors/topology.js';
import { membershipLimits } from '../../config/limits.js';
import { errorResponse } from '../error-response.js';
import type { Handler, HttpResponse } from '../request.js';
import type { NodeServices } from '../services.js';
import { parseBody, skuSchema } from '../validation.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { clusterStatus, nodeDrained, partitionList, partitionMoved, rebalanced, skuIsolated } from '../openapi/response-schemas.js';

/**
 * The operator's cluster routes (admin token), behind the `boxoffice` CLI (docs/CLI.md). Reads answer from the
 * node asked; operations run on the coordinator (the node asked forwards them to it).
 */

const nodeIdSchema = z.string().regex(membershipLimits.nodeIdPattern, 'expected a node id: 1-64 of A-Z a-z 0-9 . _ -');
const moveBody = z.object({ to: nodeIdSchema }).strict();
const isolateBody = z.object({ sku: skuSchema }).strict();

const opErrors = ['CLUSTER_DISABLED', 'COORDINATOR_UNAVAILABLE', 'MOVE_FAILED'] as const;

export const getClusterDoc: RouteDoc = { summary: 'Members, their partition counts, the coordinator', admin: true, responses: { 200: { description: 'The cluster', body: clusterStatus } }, errors: [] };

export const getPartitionsDoc: RouteDoc = {
  summary: "Every partition's owner and epoch (PostgreSQL's rows)",
  admin: true,
  query: { node: nodeIdSchema.optional() },
  responses: { 200: { description: 'The partitions', body: partitionList } },
  errors: ['VALIDATION_FAILED'],
};

export const postMoveDoc: RouteDoc = {
  summary: 'Move a partition to a live node and pin it there',
  admin: true,
  params: { partition: z.string().regex(/^\d{1,9}$/) },
  body: moveBody,
  responses: { 200: { description: 'The move', body: partitionMoved } },
  errors: ['VALIDATION_FAILED', 'PARTITION_NOT_FOUND', 'NODE_NOT_FOUND', ...opErrors],
};

export const postDrainDoc = (drain: boolean): RouteDoc => ({
  summary: drain ? 'Move every partition off a node and keep it empty' : 'Let a drained node take partitions again',
  admin: true,
  params: { nodeId: nodeIdSchema },
  responses: { 200: { description: 'What moved', body: nodeDrained } },
  errors: ['NODE_NOT_FOUND', ...opErrors],
});

export const postRebalanceDoc: RouteDoc = { summary: 'Drop every move pin and apply the assignment', admin: true, responses: { 200: { description: 'What moved', body: rebalanced } }, errors: [...opErrors] };

export const postIsolateDoc: RouteDoc = {
  summary: "Give a SKU's partition a node of its own",
  admin: true,
  body: isolateBody,
  responses: { 200: { description: 'The isolation', body: skuIsolated } },
  errors: ['VALIDATION_FAILED', ...opErrors],
};

/** GET /api/admin/cluster → members, their partition counts, the coordinator. */
export const getCluster = (s: NodeServices): Handler => async () => ({ status: 200, body: await s.cluster.status() });

/** GET /api/admin/partitions[?node=<id>] → every partition's owner and epoch (PostgreSQL's rows). */
export const getPartitions = (s: NodeServices): Handler => async (req) => {
  const node = req.query.get('node');
  if (node !== null && !nodeIdSchema.safeParse(node).success) return errorResponse('VALIDATION_FAILED', { field: 'node' });
  return { status: 200, body: await s.cluster.partitions(node) };
};

/** POST /api/admin/partitions/:partition/move { to } → { partition, from, to, epoch, pauseMs }. */
export const postMove = (s: NodeServices): Handler => async (req) => {
  const raw = req.params['partition'] ?? '';
  if (!/^\d{1,9}$/.test(raw)) return errorResponse('PARTITION_NOT_FOUND', { partition: raw });
  const body = parseBody(moveBody, req.body);
  if (!body.ok) return body.response;
  return run(s, { op: 'move', partition: Number(raw), to: body.value.to });
};

/** POST /api/admin/nodes/:nodeId/drain and …/undrain → { nodeId, moved, pauseMsMax }. */
export const postDrain = (s: NodeServices, drain: boolean): Handler => async (req) => {
  const node = req.params['nodeId'] ?? '';
  if (!nodeIdSchema.safeParse(node).success) return errorResponse('NODE_NOT_FOUND', { nodeId: node });
  return run(s, drain ? { op: 'drain', node } : { op: 'undrain', node });
};

/** POST /api/admin/rebalance → { moved, pauseMsMax } (move pins are dropped; drains and isolations stay). */
export const postRebalance = (s: NodeServices): Handler => async () => run(s, { op: 'rebalance' });

/** POST /api/admin/isolate { sku } → { sku, partition, nodeId, moved, pauseMsMax }. */
export const postIsolate = (s: NodeServices): Handler => async (req) => {
  const body = parseBody(isolateBody, req.body);
  if (!body.ok) return body.response;
  return run(s, { op: 'isolate', sku: body.value.sku });
};

async function run(s: NodeServices, op: AdminOp): Promise<HttpResponse> {
  try {
    return { status: 200, body: await s.cluster.admin(op) };
  } catch (err) {
    if (err instanceof AdminError) return errorResponse(err.code, err.details, err.code === 'COORDINATOR_UNAVAILABLE' || err.code === 'MOVE_FAILED' ? { 'retry-after': '1' } : undefined);
    throw err;
  }
}
