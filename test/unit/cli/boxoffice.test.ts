import { describe, expect, it } from 'vitest';
import { adminRequestFor, apiErrorOf } from '../../../src/cli/admin-api.js';
import { normalizeUrl, parseCliArgs, UsageError, type CliInvocation } from '../../../src/cli/cli-args.js';
import { commandSpecs, helpText } from '../../../src/cli/cli-commands.js';
import { formatAnswer, formatBulkMove, formatError, formatIsolate, formatMove, formatPartitions, formatRanges, formatStatus, formatTable } from '../../../src/cli/cli-format.js';
import { exitCodes, runCli } from '../../../src/cli/run-cli.js';

const env = { ADMIN_TOKEN: 'env-token-0123456789' };
const defaults = { url: 'http://127.0.0.1:3000', token: 'env-token-0123456789', json: false, timeoutMs: 60_000 };
const run = (command: object, options: object = {}): CliInvocation => ({ kind: 'run', command, options: { ...defaults, ...options } }) as CliInvocation;

describe('parseCliArgs', () => {
  it.each<[string[], Record<string, string>, CliInvocation]>([
    [['status'], env, run({ name: 'status' })],
    [['partitions', 'list'], env, run({ name: 'partitions list', node: null })],
    [['partitions', 'list', '--node', 'node-2'], env, run({ name: 'partitions list', node: 'node-2' })],
    [['partitions', 'move', '7', '--to', 'node-2'], env, run({ name: 'partitions move', partition: 7, to: 'node-2' })],
    [['--to', 'node-2', 'partitions', 'move', '0'], env, run({ name: 'partitions move', partition: 0, to: 'node-2' })],
    [['drain', 'node-1'], env, run({ name: 'drain', node: 'node-1' })],
    [['undrain', 'node_1.a'], env, run({ name: 'undrain', node: 'node_1.a' })],
    [['rebalance'], env, run({ name: 'rebalance' })],
    [['isolate', 'HOT:SKU-1'], env, run({ name: 'isolate', sku: 'HOT:SKU-1' })],
    [['status', '--json', '--timeout', '500', '--token', 'flag-token', '--url', 'https://ops.example:8443/box/'], env, run({ name: 'status' }, { json: true, timeoutMs: 500, token: 'flag-token', url: 'https://ops.example:8443/box' })],
    [['status'], { ...env, BOXOFFICE_URL: 'http://10.0.0.5:3001' }, run({ name: 'status' }, { url: 'http://10.0.0.5:3001' })],
    [['status'], { ...env, PORT: '3002' }, run({ name: 'status' }, { url: 'http://127.0.0.1:3002' })],
    [['status', '--url', 'http://a:1'], { ...env, BOXOFFICE_URL: 'http://b:2' }, run({ name: 'status' }, { url: 'http://a:1' })],
  ])('parses %j', (argv, environment, expected) => {
    expect(parseCliArgs(argv, environment)).toEqual(expected);
  });

  it.each<[string[], CliInvocation]>([
    [['--help'], { kind: 'help', topic: null }],
    [['help'], { kind: 'help', topic: null }],
    [['-h', 'status'], { kind: 'help', topic: 'status' }],
    [['drain', '--help'], { kind: 'help', topic: 'drain' }],
    [['partitions', '--help'], { kind: 'help', topic: 'partitions' }],
    [['partitions', 'move', '--help'], { kind: 'help', topic: 'partitions move' }],
    [['help', 'partitions', 'list'], { kind: 'help', topic: 'partitions list' }],
    [['help', 'nope'], { kind: 'help', topic: null }],
  ])('answers help for %j, even without a token or the arguments', (argv, expected) => {
    expect(parseCliArgs(argv, {})).toEqual(expected);
  });

  it.each<[string[], Record<string, string>, RegExp]>([
    [[], env, /no command given/],
    [['nope'], env, /unknown command 'nope'/],
    [['partitions'], env, /needs a sub-command/],
    [['partitions', 'show'], env, /unknown sub-command 'partitions show'/],
    [['partitions', 'move', '7'], env, /needs --to/],
    [['partitions', 'move', 'seven', '--to', 'node-2'], env, /'seven' is not a partition number/],
    [['partitions', 'move', '-1', '--to', 'node-2'], env, /Unknown option '-1'/],
    [['partitions', 'move', '7', '--to', 'node/2'], env, /--to 'node\/2' is not a node id/],
    [['partitions', 'list', '--node', '../x'], env, /is not a node id/],
    [['drain'], env, /drain takes <node>, got none/],
    [['drain', 'a', 'b'], env, /got 'a' 'b'/],
    [['status', 'extra'], env, /status takes no arguments/],
    [['status', '--to', 'node-1'], env, /status does not take --to/],
    [['drain', 'node-1', '--node', 'node-1'], env, /drain does not take --node/],
    [['isolate', '-bad'], env, /Unknown option/],
    [['isolate', '--', '-bad'], env, /'-bad' is not a SKU/],
    [['status', '--verbose'], env, /Unknown option '--verbose'/],
    [['status', '--url'], env, /argument missing/],
    [['status'], {}, /no admin token/],
    [['status', '--token', ''], {}, /no admin token/],
    [['status', '--timeout', '0'], env, /--timeout '0'/],
    [['status', '--timeout', '1.5'], env, /--timeout '1.5'/],
    [['status', '--timeout', '3600001'], env, /--timeout '3600001'/],
    [['status', '--url', 'localhost:3000'], env, /not an http:\/\/ or https:\/\/ URL/],
    [['status', '--url', 'not a url'], env, /is not a URL/],
    [['status', '--url', 'http://u:p@host:1'], env, /plain base URL/],
    [['status'], { ...env, PORT: 'eighty' }, /PORT=eighty is not a port/],
  ])('refuses %j', (argv, environment, message) => {
    expect(() => parseCliArgs(argv, environment)).toThrow(UsageError);
    expect(() => parseCliArgs(argv, environment)).toThrow(message);
  });

  it('keeps a path prefix of the URL and drops trailing slashes', () => {
    expect(normalizeUrl('http://host:1/a/b//', '--url')).toBe('http://host:1/a/b');
    expect(normalizeUrl('http://host:1', '--url')).toBe('http://host:1');
  });
});

describe('adminRequestFor', () => {
  it.each([
    [{ name: 'status' }, { method: 'GET', path: '/api/admin/cluster' }],
    [{ name: 'partitions list', node: null }, { method: 'GET', path: '/api/admin/partitions' }],
    [{ name: 'partitions list', node: 'node-1' }, { method: 'GET', path: '/api/admin/partitions?node=node-1' }],
    [{ name: 'partitions move', partition: 7, to: 'node-2' }, { method: 'POST', path: '/api/admin/partitions/7/move', body: { to: 'node-2' } }],
    [{ name: 'drain', node: 'node-1' }, { method: 'POST', path: '/api/admin/nodes/node-1/drain' }],
    [{ name: 'undrain', node: 'node-1' }, { method: 'POST', path: '/api/admin/nodes/node-1/undrain' }],
    [{ name: 'rebalance' }, { method: 'POST', path: '/api/admin/rebalance' }],
    [{ name: 'isolate', sku: 'HOT-1' }, { method: 'POST', path: '/api/admin/isolate', body: { sku: 'HOT-1' } }],
  ] as const)('maps %j to its route', (command, request) => {
    expect(adminRequestFor(command)).toEqual(request);
  });
});

describe('formatting', () => {
  it.each<[number[], string]>([
    [[], 'none'],
    [[5], '5'],
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 40, 41], '0-12, 15, 40-41'],
    [[41, 40, 15, 3, 2, 1, 0, 2], '0-3, 15, 40-41'],
    [[1, 3, 5], '1, 3, 5'],
  ])('writes %j as %s', (numbers, text) => {
    expect(formatRanges(numbers)).toBe(text);
  });

  it('aligns table columns without trailing spaces', () => {
    expect(formatTable(['node', 'n', 'x'], [['node-10', '1', ''], ['a', '1000', 'yes']])).toBe(['node     n     x', 'node-10  1', 'a        1000  yes'].join('\n'));
  });

  const status = {
    nodeId: 'node-1', mode: 'cluster' as const, partitions: 64, coordinator: 'node-2', routesVersion: 9, unowned: 3,
    members: [
      { nodeId: 'node-10', host: '10.0.0.10', port: 7010, startedAt: 1, partitions: 20, drained: false, isolated: [] },
      { nodeId: 'node-2', host: '127.0.0.1', port: 7001, startedAt: 1, partitions: 0, drained: true, isolated: [] },
      { nodeId: 'node-1', host: '127.0.0.1', port: 7000, startedAt: 1, partitions: 41, drained: false, isolated: [17, 18, 30] },
    ],
  };

  it('prints the status with the coordinator, a member table sorted by node and the unowned count', () => {
    expect(formatStatus(status)).toBe(
      [
        'node-1 answers: cluster mode, 64 partitions, routes version 9',
        'coordinator: node-2',
        'unowned partitions: 3',
        '',
        'node     address         partitions  drained  isolated',
        'node-1   127.0.0.1:7000  41          no       17-18, 30',
        'node-2   127.0.0.1:7001  0           yes      -',
        'node-10  10.0.0.10:7010  20          no       -',
      ].join('\n'),
    );
  });

  it('says when a node runs alone', () => {
    const single = formatStatus({ ...status, mode: 'single', coordinator: null, unowned: 0, members: [] });
    expect(single).toContain('single-node mode');
    expect(single).toContain('coordinator: none');
    expect(single).toContain('members: none');
    const self = { nodeId: 'node-1', host: '127.0.0.1', port: 0, partitions: 64, drained: false, isolated: [] };
    expect(formatStatus({ ...status, mode: 'single', coordinator: null, members: [self] })).toContain('node-1  -        64          no       -');
  });

  const p = (partition: number, nodeId: string | null, extra: { pinned?: boolean; isolated?: boolean } = {}) => ({ partition, nodeId, epoch: 1, pinned: false, isolated: false, ...extra });

  it('prints partitions as ranges per node, unowned last, then pinned and isolated ones', () => {
    const list = { partitions: [p(0, 'node-1'), p(1, 'node-1'), p(2, 'node-1'), p(5, 'node-1'), p(3, 'node-2', { pinned: true }), p(4, 'node-10', { isolated: true }), p(6, null)] };
    expect(formatPartitions(list, null)).toBe(
      ['node-1    0-2, 5 (4 partitions)', 'node-2    3 (1 partition)', 'node-10   4 (1 partition)', 'unowned   6 (1 partition)', 'pinned    3', 'isolated  4'].join('\n'),
    );
  });

  it('names the asked node even when it owns nothing', () => {
    expect(formatPartitions({ partitions: [] }, 'node-3')).toBe('node-3  none (0 partitions)');
    expect(formatPartitions({ partitions: [] }, null)).toBe('no partitions');
  });

  it.each<[string, string]>([
    [formatMove({ partition: 7, from: 'node-1', to: 'node-2', epoch: 3, pauseMs: 41.4 }), 'moved partition 7 node-1 → node-2 (epoch 3, pause 41 ms)'],
    [formatMove({ partition: 7, from: null, to: 'node-2', epoch: 1, pauseMs: 0 }), 'moved partition 7 unowned → node-2 (epoch 1, pause 0 ms)'],
    [formatBulkMove('drained', { nodeId: 'node-2', moved: 341, pauseMsMax: 52 }), 'drained node-2: moved 341 partitions (longest pause 52 ms)'],
    [formatBulkMove('undrained', { nodeId: 'node-2', moved: 1, pauseMsMax: 9 }), 'undrained node-2: moved 1 partition (longest pause 9 ms)'],
    [formatBulkMove('rebalanced', { moved: 0, pauseMsMax: 0 }), 'rebalanced: no partition had to move'],
    [formatIsolate({ sku: 'HOT-1', partition: 17, nodeId: 'node-3', moved: 12, pauseMsMax: 40 }), 'isolated SKU HOT-1: partition 17 alone on node-3 (moved 12 partitions, longest pause 40 ms)'],
    [formatError({ code: 'NODE_NOT_FOUND', message: 'No node has this id.', details: { nodeId: 'node-9', known: ['node-1'] } }), 'error NODE_NOT_FOUND: No node has this id.\n  nodeId: node-9\n  known: ["node-1"]'],
  ])('prints %s', (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('reads error details whether they are flat (src/errors.ts) or nested under details', () => {
    expect(apiErrorOf(404, { error: { code: 'PARTITION_NOT_FOUND', message: 'm', partition: 9 } }, '')).toEqual({ status: 404, code: 'PARTITION_NOT_FOUND', message: 'm', details: { partition: 9 } });
    expect(apiErrorOf(404, { error: { code: 'PARTITION_NOT_FOUND', message: 'm', details: { partition: 9 } } }, '')).toEqual({ status: 404, code: 'PARTITION_NOT_FOUND', message: 'm', details: { partition: 9 } });
    expect(apiErrorOf(502, undefined, '<html>\n<h1>Bad gateway</h1></html>')).toEqual({ status: 502, code: 'HTTP_502', message: '<html> <h1>Bad gateway</h1></html>', details: {} });
  });

  it('refuses an answer that does not have the documented shape', () => {
    expect(formatAnswer({ name: 'status' }, { nodeId: 'node-1' })).toEqual({ ok: false, problem: expect.stringContaining("'mode'") });
    expect(formatAnswer({ name: 'rebalance' }, { moved: 2, pauseMsMax: 5, extra: true })).toEqual({ ok: true, text: 'rebalanced: moved 2 partitions (longest pause 5 ms)' });
  });

  it('documents every command in the global help and its options in its own', () => {
    const global = helpText(null);
    for (const c of commandSpecs) expect(global).toContain(c.usage);
    expect(helpText('partitions list')).toContain('--node <id>');
    expect(helpText('partitions move')).toContain('--to <node>');
    for (const option of ['--url', '--token', '--json', '--timeout', '--help']) expect(helpText('drain')).toContain(option);
  });
});

describe('runCli', () => {
  const io = (answer: () => Promise<Response>) => {
    const out: string[] = [];
    const err: string[] = [];
    const calls: { url: string; init: RequestInit }[] = [];
    const fetchFn = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return answer();
    }) as unknown as typeof fetch;
    return { out, err, calls, io: { fetch: fetchFn, stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) } };
  };
  const json = (status: number, body: unknown) => async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  it.each<[string, string[], () => Promise<Response>, number, RegExp, RegExp | null]>([
    ['a move', ['partitions', 'move', '7', '--to', 'node-2'], json(200, { partition: 7, from: 'node-1', to: 'node-2', epoch: 3, pauseMs: 41 }), exitCodes.ok, /^moved partition 7 node-1 → node-2/, null],
    ['an API error', ['drain', 'node-9'], json(404, { error: { code: 'NODE_NOT_FOUND', message: 'No such node.', nodeId: 'node-9' } }), exitCodes.apiError, /^$/, /^error NODE_NOT_FOUND: No such node\.\n {2}nodeId: node-9\n$/],
    ['a wrong answer', ['status'], json(200, { hello: 1 }), exitCodes.apiError, /^$/, /^error UNEXPECTED_RESPONSE: GET \/api\/admin\/cluster answered 200/],
    ['a timeout', ['rebalance'], () => Promise.reject(new DOMException('timed out', 'TimeoutError')), exitCodes.unreachable, /^$/, /^error TIMEOUT: .*within 60000 ms\n {2}the node may still finish it/],
    ['a refused connection', ['status'], () => Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })), exitCodes.unreachable, /^$/, /^error UNREACHABLE: cannot reach http:\/\/127\.0\.0\.1:3000: connect ECONNREFUSED\n$/],
    ['a usage error', ['partitions', 'move', '7'], json(200, {}), exitCodes.usage, /^$/, /^error USAGE: partitions move needs --to <node>\nusage: boxoffice partitions move/],
  ])('answers %s with its exit code and output', async (_, argv, answer, code, stdout, stderr) => {
    const t = io(answer);
    expect(await runCli(argv, env, t.io)).toBe(code);
    expect(t.out.join('')).toMatch(stdout);
    if (stderr !== null) expect(t.err.join('')).toMatch(stderr);
    else expect(t.err).toEqual([]);
  });

  it('sends the token, JSON bodies only where the route takes one, and prints raw JSON with --json', async () => {
    const raw = '{"partition":7,"from":"node-1","to":"node-2","epoch":3,"pauseMs":41}';
    const t = io(async () => new Response(raw, { status: 200 }));
    expect(await runCli(['partitions', 'move', '7', '--to', 'node-2', '--json'], env, t.io)).toBe(0);
    expect(t.out).toEqual([`${raw}\n`]);
    expect(t.calls[0]!.url).toBe('http://127.0.0.1:3000/api/admin/partitions/7/move');
    expect(t.calls[0]!.init).toMatchObject({ method: 'POST', body: '{"to":"node-2"}', headers: { authorization: 'Bearer env-token-0123456789', 'content-type': 'application/json' } });
    expect(await runCli(['drain', 'node-1'], env, t.io)).toBe(1); // the canned answer is not a drain's
    expect(t.calls[1]!.init.body).toBeUndefined();
    expect(t.calls[1]!.init.headers).not.toHaveProperty('content-type');
  });
});
