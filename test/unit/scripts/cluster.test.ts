import { describe, expect, it } from 'vitest';
import { clusterHelpText, nodePlan, parseClusterArgs, UsageError } from '../../../scripts/cluster-args.js';
import { redactUrl } from '../../../bench/lib/databases.js';
import { nodePrefix, renderNodeLine } from '../../../scripts/cluster-output.js';

describe('parseClusterArgs', () => {
  it('starts three nodes on 3000… and 7000… by default', () => {
    expect(parseClusterArgs([])).toEqual({ help: false, nodes: 3, basePort: 3000, baseNodePort: 7000, name: 'boxoffice', partitions: null, quiet: false });
    expect(nodePlan(parseClusterArgs(['--nodes', '2']))).toEqual([
      { id: 'node-1', port: 3000, nodePort: 7000 },
      { id: 'node-2', port: 3001, nodePort: 7001 },
    ]);
  });

  it('takes every option', () => {
    expect(parseClusterArgs(['-n', '16', '--base-port', '4000', '--base-node-port=8000', '--name', 'dev.2', '--partitions', '64', '-q'])).toEqual({
      help: false, nodes: 16, basePort: 4000, baseNodePort: 8000, name: 'dev.2', partitions: 64, quiet: true,
    });
    expect(parseClusterArgs(['--help']).help).toBe(true);
  });

  it.each([
    [['--nodes', '0'], /--nodes '0' must be a whole number from 1 to 16/],
    [['--nodes', '17'], /from 1 to 16/],
    [['--nodes', 'three'], /--nodes 'three'/],
    [['--partitions', '65537'], /--partitions '65537'/],
    [['--base-port', '65535', '--nodes', '2'], /no room for 2 nodes/],
    [['--base-port', '7001'], /overlap inter-node ports 7000-7002/],
    [['--name', 'my cluster'], /--name 'my cluster'/],
    [['--verbose'], /Unknown option/],
    [['3'], /positional/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseClusterArgs(argv)).toThrow(UsageError);
    expect(() => parseClusterArgs(argv)).toThrow(message);
  });

  it('documents every option', () => {
    for (const option of ['--nodes', '--base-port', '--base-node-port', '--name', '--partitions', '--quiet', '--help']) expect(clusterHelpText()).toContain(option);
  });
});

describe('renderNodeLine', () => {
  const prefix = nodePrefix('node-1', 7);
  const pino = (level: number, msg: string, fields: object = {}) => JSON.stringify({ level, time: 1, pid: 2, hostname: 'h', ...fields, msg });

  it.each<[string, boolean, string[]]>([
    [pino(30, 'listening; recovering', { port: 3000, node: 'node-1' }), false, ['[node-1]  INFO listening; recovering port=3000 node=node-1']],
    [pino(40, 'moved', { partitions: '1, 3', pauseMs: 4 }), true, ['[node-1]  WARN moved partitions="1, 3" pauseMs=4']],
    [pino(30, 'hidden'), true, []],
    [pino(50, 'failed', { err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.js:1:1)', code: 'E1' } }), true, ['[node-1]  ERROR failed err="Error: boom" err.code="E1"', '[node-1]    at f (a.js:1:1)']],
    ['boxoffice: SIGINT: closing', true, ['[node-1]  boxoffice: SIGINT: closing']],
    ['{not json', true, ['[node-1]  {not json']],
  ])('renders %s (quiet %s)', (line, quiet, expected) => {
    expect(renderNodeLine(prefix, line, quiet)).toEqual(expected);
  });

  it('hides passwords in URLs it prints', () => {
    expect(redactUrl('postgresql://u:secret@h:5432/db')).toBe('postgresql://u:***@h:5432/db');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
