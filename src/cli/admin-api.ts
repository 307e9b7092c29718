import { z } from 'zod';
import type { CliCommand } from './cli-commands.js';

/**
 * The cluster admin API as the CLI sees it (docs/API.md, cluster admin routes): the request of each command and
 * the shape of each answer. Answers are checked with these schemas before they are formatted, so a node of another
 * version answers "unexpected response" instead of crashing the formatter; extra fields are ignored.
 */
export interface AdminRequest {
  method: 'GET' | 'POST';
  /** Path and query, starting with `/`. */
  path: string;
  /** Sent as JSON; routes that take no body (drain, undrain, rebalance) get none, like the other admin actions. */
  body?: unknown;
}

export function adminRequestFor(command: CliCommand): AdminRequest {
  switch (command.name) {
    case 'status':
      return { method: 'GET', path: '/api/admin/cluster' };
    case 'partitions list':
      return { method: 'GET', path: command.node === null ? '/api/admin/partitions' : `/api/admin/partitions?node=${encodeURIComponent(command.node)}` };
    case 'partitions move':
      return { method: 'POST', path: `/api/admin/partitions/${command.partition}/move`, body: { to: command.to } };
    case 'drain':
    case 'undrain':
      return { method: 'POST', path: `/api/admin/nodes/${encodeURIComponent(command.node)}/${command.name}` };
    case 'rebalance':
      return { method: 'POST', path: '/api/admin/rebalance' };
    case 'isolate':
      return { method: 'POST', path: '/api/admin/isolate', body: { sku: command.sku } };
  }
}

const count = z.number().int().nonnegative();

export const memberSchema = z.object({
  nodeId: z.string(),
  host: z.string(),
  port: z.number().int(),
  startedAt: z.union([z.string(), z.number()]).optional(),
  partitions: count,
  drained: z.boolean(),
  isolated: z.array(count).default([]),
});

export const clusterStatusSchema = z.object({
  nodeId: z.string(),
  mode: z.enum(['single', 'cluster']),
  partitions: count,
  coordinator: z.string().nullable(),
  routesVersion: z.number(),
  unowned: count,
  members: z.array(memberSchema),
});

export const partitionListSchema = z.object({
  partitions: z.array(
    z.object({
      partition: count,
      // An unowned partition (its node left and nobody took it yet) may come without a node.
      nodeId: z.string().nullable(),
      epoch: z.number(),
      pinned: z.boolean().default(false),
      isolated: z.boolean().default(false),
    }),
  ),
});

export const moveResultSchema = z.object({ partition: count, from: z.string().nullable(), to: z.string(), epoch: z.number(), pauseMs: z.number() });

/** What drain, undrain and rebalance answer (drain and undrain add the node). */
export const bulkMoveResultSchema = z.object({ nodeId: z.string().optional(), moved: count, pauseMsMax: z.number() });

export const isolateResultSchema = z.object({ sku: z.string(), partition: count, nodeId: z.string(), moved: count, pauseMsMax: z.number() });

export type ClusterStatus = z.infer<typeof clusterStatusSchema>;
export type ClusterMember = z.infer<typeof memberSchema>;
export type PartitionList = z.infer<typeof partitionListSchema>;
export type MoveResult = z.infer<typeof moveResultSchema>;
export type BulkMoveResult = z.infer<typeof bulkMoveResultSchema>;
export type IsolateResult = z.infer<typeof isolateResultSchema>;

/**
 * The error of a failed request. Nodes answer `{ error: { code, message, ...details } }` (src/errors.ts); a nested
 * `details` object is accepted too. Anything else (a proxy's HTML page) becomes `HTTP_<status>`.
 */
export interface ApiError {
  status: number;
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export function apiErrorOf(status: number, body: unknown, text: string): ApiError {
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    const { code, message, details, ...rest } = error as Record<string, unknown>;
    const nested = typeof details === 'object' && details !== null && !Array.isArray(details) ? (details as Record<string, unknown>) : details === undefined ? {} : { details };
    return { status, code: code as string, message: typeof message === 'string' ? message : '', details: { ...rest, ...nested } };
  }
  const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return { status, code: `HTTP_${status}`, message: excerpt === '' ? 'the node answered without an error body' : excerpt, details: {} };
}
