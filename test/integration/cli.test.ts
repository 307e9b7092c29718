import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from '../support/ensure-built.js';
import { runProcess, type ProcessRun } from '../support/run-process.js';

/**
 * The compiled CLI (dist/src/cli/boxoffice.js) run as a child process, as an operator runs it, against a real HTTP
 * server on a loopback port that answers the cluster admin routes with fixed JSON (a fake of boxoffice's admin API:
 * the CLI's contract is HTTP, not the cluster behind it). Checks output, exit codes and that the token is sent.
 */
const cliJs = join(repoRoot, 'dist', 'src', 'cli', 'boxoffice.js');
const token = 'cli-test-token-0123456789';
const cliRunMsMax = 20_000;

const status = {
  nodeId: 'node-1', mode: 'cluster', partitions: 16, coordinator: 'node-1', routesVersion: 4, unowned: 0,
  members: [
    { nodeId: 'node-1', host: '127.0.0.1', port: 7000, startedAt: '2030-01-01T00:00:00.000Z', partitions: 9, drained: false, isolated: [] },
    { nodeId: 'node-2', host: '127.0.0.1', port: 7001, startedAt: '2030-01-01T00:00:01.000Z', partitions: 7, drained: false, isolated: [12] },
  ],
};
const owners = ['node-1', 'node-1', 'node-1', 'node-2', 'node-1', 'node-1', 'node-1', 'node-1', 'node-1', 'node-1', 'node-2', 'node-2', 'node-2', 'node-2', 'node-2', 'node-2'];
const partitions = owners.map((nodeId, partition) => ({ partition, nodeId, epoch: 1, pinned: partition === 3, isolated: partition === 12 }));

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** The fake admin API: the routes of docs/API.md, answering the fixtures above; `stall` makes it never answer. */
function fakeAdminApi(seen: Seen[], state: { stall: boolean }): Server {
  const send = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const fail = (res: ServerResponse, status: number, code: string, message: string, details: object = {}) => send(res, status, { error: { code, message, ...details } });
  return createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
    if (state.stall) return; // the client's --timeout has to end this one
    if (req.headers.authorization === undefined) return fail(res, 401, 'UNAUTHORIZED', 'This route needs Authorization: Bearer <ADMIN_TOKEN>.');
    if (req.headers.authorization !== `Bearer ${token}`) return fail(res, 403, 'FORBIDDEN', 'The admin token is wrong.');
    const url = new URL(req.url!, 'http://fake');
    const route = `${req.method} ${url.pathname}`;
    const known = (id: string) => status.members.some((m) => m.nodeId === id);
    let m: RegExpExecArray | null;
    if (route === 'GET /api/admin/cluster') return send(res, 200, status);
    if (route === 'GET /api/admin/partitions') {
      const node = url.searchParams.get('node');
      if (node !== null && !known(node)) return fail(res, 404, 'NODE_NOT_FOUND', 'No member has this node id.', { nodeId: node });
      return send(res, 200, { partitions: partitions.filter((p) => node === null || p.nodeId === node) });
    }
    if ((m = /^POST \/api\/admin\/partitions\/(\d+)\/move$/.exec(route))) {
      const partition = Number(m[1]);
      const to = (JSON.parse(body) as { to: string }).to;
      if (partition >= partitions.length) return fail(res, 404, 'PARTITION_NOT_FOUND', 'No partition has this number.', { partition });
      if (!known(to)) return fail(res, 404, 'NODE_NOT_FOUND', 'No member has this node id.', { nodeId: to });
      return send(res, 200, { partition, from: owners[partition], to, epoch: 3, pauseMs: 41 });
    }
    if ((m = /^POST \/api\/admin\/nodes\/([^/]+)\/(drain|undrain)$/.exec(route))) {
      if (!known(m[1]!)) return fail(res, 404, 'NODE_NOT_FOUND', 'No member has this node id.', { nodeId: m[1] });
      return send(res, 200, { nodeId: m[1], moved: m[2] === 'drain' ? 9 : 4, pauseMsMax: 52 });
    }
    if (route === 'POST /api/admin/rebalance') return fail(res, 503, 'COORDINATOR_UNAVAILABLE', 'No coordinator holds the lease; retry shortly.');
    if (route === 'POST /api/admin/isolate') return send(res, 200, { sku: (JSON.parse(body) as { sku: string }).sku, partition: 12, nodeId: 'node-2', moved: 6, pauseMsMax: 33 });
    return fail(res, 404, 'ROUTE_NOT_FOUND', 'No such route.');
  });
}

type CliRun = ProcessRun;

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runProcess(process.execPath, [cliJs, ...args], { PATH: process.env['PATH'] ?? '', ...env }, cliRunMsMax);
}

describe('the boxoffice CLI against an admin API on a real socket', () => {
  const seen: Seen[] = [];
  const state = { stall: false };
  let server: Server;
  let url: string;
  const withToken = () => ({ ADMIN_TOKEN: token, BOXOFFICE_URL: url });

  beforeAll(async () => {
    ensureBuilt(cliJs);
    server = fakeAdminApi(seen, state);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 150_000);

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('prints the status as a table and sends the admin token from ADMIN_TOKEN', async () => {
    const r = await cli(['status'], withToken());
    expect(r).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'node-1 answers: cluster mode, 16 partitions, routes version 4',
        'coordinator: node-1',
        'unowned partitions: 0',
        '',
        'node    address         partitions  drained  isolated',
        'node-1  127.0.0.1:7000  9           no       -',
        'node-2  127.0.0.1:7001  7           no       12',
        '',
      ].join('\n'),
    });
    expect(seen.at(-1)).toEqual({ method: 'GET', url: '/api/admin/cluster', authorization: `Bearer ${token}`, body: '' });
  });

  it('lists partitions as ranges, for every node or one', async () => {
    expect((await cli(['partitions', 'list', '--url', url, '--token', token])).stdout).toBe(
      ['node-1    0-2, 4-9 (9 partitions)', 'node-2    3, 10-15 (7 partitions)', 'pinned    3', 'isolated  12', ''].join('\n'),
    );
    const one = await cli(['partitions', 'list', '--node', 'node-2'], withToken());
    expect(one.stdout).toBe(['node-2    3, 10-15 (7 partitions)', 'pinned    3', 'isolated  12', ''].join('\n'));
    expect(seen.at(-1)!.url).toBe('/api/admin/partitions?node=node-2');
  });

  it('moves, drains, undrains and isolates with one line each', async () => {
    const cases: [string[], string, string][] = [
      [['partitions', 'move', '7', '--to', 'node-2'], 'moved partition 7 node-1 → node-2 (epoch 3, pause 41 ms)\n', '{"to":"node-2"}'],
      [['drain', 'node-1'], 'drained node-1: moved 9 partitions (longest pause 52 ms)\n', ''],
      [['undrain', 'node-1'], 'undrained node-1: moved 4 partitions (longest pause 52 ms)\n', ''],
      [['isolate', 'HOT-1'], 'isolated SKU HOT-1: partition 12 alone on node-2 (moved 6 partitions, longest pause 33 ms)\n', '{"sku":"HOT-1"}'],
    ];
    for (const [args, stdout, body] of cases) {
      expect(await cli(args, withToken()), args.join(' ')).toEqual({ code: 0, stdout, stderr: '' });
      expect(seen.at(-1)!.body).toBe(body);
    }
  });

  it('prints the raw JSON with --json', async () => {
    const r = await cli(['status', '--json'], withToken());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(status);
  });

  it.each<[string, string[], Record<string, string> | 'token', number, RegExp]>([
    ['an unknown partition', ['partitions', 'move', '99', '--to', 'node-2'], 'token', 1, /^error PARTITION_NOT_FOUND: No partition has this number\.\n {2}partition: 99\n$/],
    ['an unknown node', ['drain', 'node-9'], 'token', 1, /^error NODE_NOT_FOUND: No member has this node id\.\n {2}nodeId: node-9\n$/],
    ['no coordinator', ['rebalance'], 'token', 1, /^error COORDINATOR_UNAVAILABLE: No coordinator holds the lease; retry shortly\.\n$/],
    ['a wrong token', ['status', '--token', 'not-the-token-at-all'], {}, 1, /^error FORBIDDEN: The admin token is wrong\.\n$/],
    ['no token', ['status'], {}, 2, /^error USAGE: no admin token/],
    ['a bad partition', ['partitions', 'move', 'x', '--to', 'node-2'], 'token', 2, /^error USAGE: 'x' is not a partition number\nusage: boxoffice partitions move/],
    ['an unknown command', ['restart'], 'token', 2, /^error USAGE: unknown command 'restart'[^]*usage: boxoffice <command>/],
  ])('answers %s with its exit code and one error line', async (_, args, env, code, stderr) => {
    const r = await cli(args, env === 'token' ? withToken() : { BOXOFFICE_URL: url, ...env });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
    expect(r.stderr).toMatch(stderr);
  });

  it('exits 3 when nothing listens at the URL', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await cli(['status', '--url', `http://127.0.0.1:${port}`], { ADMIN_TOKEN: token });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`^error UNREACHABLE: cannot reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });

  it('exits 3 when the node does not answer within --timeout', async () => {
    state.stall = true;
    try {
      const started = performance.now();
      const r = await cli(['drain', 'node-1', '--timeout', '300'], withToken());
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^error TIMEOUT: POST http:.*\/api\/admin\/nodes\/node-1\/drain did not answer within 300 ms\n {2}the node may still finish it/);
      expect(performance.now() - started).toBeLessThan(cliRunMsMax);
    } finally {
      state.stall = false;
    }
  });

  it('answers --help on every command without a token', async () => {
    for (const args of [['--help'], ['status', '--help'], ['partitions', 'list', '-h'], ['partitions', 'move', '--help'], ['drain', '--help'], ['undrain', '--help'], ['rebalance', '--help'], ['isolate', '--help']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^usage: boxoffice /);
    }
  });
});
