import { parseArgs } from 'node:util';

/**
 * `npm run cluster -- --nodes N …`: its options, parsed purely. A bad argument is a UsageError whose message says what
 * was wrong; the script prints it with the help text and exits with code 2.
 */
export class UsageError extends Error {}

export const clusterLimits = {
  nodesMin: 1,
  /** A cluster on one machine is for development: 16 node processes already want more cores than a laptop has. */
  nodesMax: 16,
  nodesDefault: 3,
  basePortDefault: 3000,
  baseNodePortDefault: 7000,
  /** The node's own bounds of PARTITIONS (src/config/config.ts). */
  partitionsMax: 65_536,
  /** How long the nodes get to answer /readyz 200 (recovery of a large database takes a while). */
  readyWaitMsMax: 120_000,
  readyPollMs: 250,
  /** After Ctrl-C or SIGTERM, nodes still running after this long are killed with SIGKILL. */
  stopGraceMsMax: 15_000,
} as const;

/** CLUSTER_NAME is a Redis key prefix: keep it to characters that need no quoting anywhere. */
export const clusterNamePattern = /^[A-Za-z0-9._-]{1,64}$/;

export interface ClusterArgs {
  help: boolean;
  nodes: number;
  basePort: number;
  baseNodePort: number;
  name: string;
  /** null: the nodes' default (PARTITIONS from the environment, else 1024). */
  partitions: number | null;
  quiet: boolean;
}

export function parseClusterArgs(argv: readonly string[]): ClusterArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        nodes: { type: 'string', short: 'n' },
        'base-port': { type: 'string' },
        'base-node-port': { type: 'string' },
        name: { type: 'string' },
        partitions: { type: 'string' },
        quiet: { type: 'boolean', short: 'q', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const nodes = whole(v.nodes, '--nodes', clusterLimits.nodesMin, clusterLimits.nodesMax) ?? clusterLimits.nodesDefault;
  const basePort = whole(v['base-port'], '--base-port', 1, 65_535) ?? clusterLimits.basePortDefault;
  const baseNodePort = whole(v['base-node-port'], '--base-node-port', 1, 65_535) ?? clusterLimits.baseNodePortDefault;
  const partitions = whole(v.partitions, '--partitions', 1, clusterLimits.partitionsMax) ?? null;
  const name = v.name ?? 'boxoffice';
  if (!clusterNamePattern.test(name)) throw new UsageError(`--name '${name}' must be 1-64 of A-Z a-z 0-9 . _ -`);
  if (basePort + nodes - 1 > 65_535) throw new UsageError(`--base-port ${basePort} leaves no room for ${nodes} nodes`);
  if (baseNodePort + nodes - 1 > 65_535) throw new UsageError(`--base-node-port ${baseNodePort} leaves no room for ${nodes} nodes`);
  if (basePort < baseNodePort + nodes && baseNodePort < basePort + nodes) {
    throw new UsageError(`HTTP ports ${basePort}-${basePort + nodes - 1} overlap inter-node ports ${baseNodePort}-${baseNodePort + nodes - 1}`);
  }
  return { help: v.help ?? false, nodes, basePort, baseNodePort, name, partitions, quiet: v.quiet ?? false };
}

function whole(raw: string | undefined, option: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${option} '${raw}' must be a whole number from ${min} to ${max}`);
  return n;
}

/** Node i (1-based) of the cluster: its id and ports. */
export function nodePlan(args: Pick<ClusterArgs, 'nodes' | 'basePort' | 'baseNodePort'>): { id: string; port: number; nodePort: number }[] {
  return Array.from({ length: args.nodes }, (_, i) => ({ id: `node-${i + 1}`, port: args.basePort + i, nodePort: args.baseNodePort + i }));
}

export function clusterHelpText(): string {
  const l = clusterLimits;
  return [
    'usage: npm run cluster -- [--nodes N] [--base-port P] [--base-node-port P] [--name NAME] [--partitions N] [--quiet]',
    '',
    'Starts N boxoffice nodes on this machine as one cluster (builds first), prefixes their output with [node-i], prints',
    'their URLs and the admin token once all answer /readyz, and stops them all on Ctrl-C or SIGTERM. A node that dies',
    'is reported; the others keep running. README "Running a cluster" has more.',
    '',
    'options:',
    `  --nodes, -n N          how many nodes, ${l.nodesMin} to ${l.nodesMax} (default ${l.nodesDefault}); they are node-1 … node-N`,
    `  --base-port P          HTTP port of node-1; node-i listens on P+i-1 (default ${l.basePortDefault})`,
    `  --base-node-port P     inter-node TCP port of node-1; node-i uses P+i-1 (default ${l.baseNodePortDefault})`,
    "  --name NAME            CLUSTER_NAME, the nodes' Redis key prefix (default boxoffice)",
    `  --partitions N         PARTITIONS, 1 to ${l.partitionsMax} (default: $PARTITIONS, else the node's 1024); the journal`,
    '                         is partitioned by it: keep it the same for the life of a database',
    '  --quiet, -q            show only warnings, errors and non-log output of the nodes',
    '  --help, -h             this text',
    '',
    'environment:',
    '  DATABASE_URL   shared database (default postgresql://postgres@127.0.0.1:5432/boxoffice; created if missing)',
    '  REDIS_URL      shared Redis (default redis://127.0.0.1:6379)',
    '  ADMIN_TOKEN    shared admin token, at least 16 characters (default: generated and printed once)',
    '  CLUSTER_SECRET key the nodes authenticate each other with, at least 32 characters (default: one per run)',
    '  NODE_HOST      inter-node address the nodes advertise (default 127.0.0.1)',
    '  HOST           address HTTP listens on (default 127.0.0.1)',
    '  Every other variable (LOG_LEVEL, MEMBER_TTL_MS, …) is passed to every node as it is.',
    '',
    'exit codes: 0 stopped on request, 1 could not start or every node died, 2 usage error',
  ].join('\n');
}
