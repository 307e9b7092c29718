import { describe, expect, it } from 'vitest';
import { helpText, parseBenchArgs, UsageError } from '../../../bench/lib/cli-args.js';

const names = ['flash-hot', 'catalog', 'soldout-storm'];

describe('parseBenchArgs', () => {
  it('runs every scenario against the four sellers by default', () => {
    expect(parseBenchArgs([], names)).toEqual({ help: false, quick: false, scenarios: names, contenders: ['boxoffice', 'pg-conditional', 'pg-for-update', 'redis-lua'] });
  });

  it('takes repeated --scenario, --quick and a comma list of contenders in canonical order', () => {
    expect(parseBenchArgs(['--scenario', 'catalog', '--scenario', 'flash-hot', '--scenario', 'catalog', '--quick', '--contenders', 'redis-lua, boxoffice', '--contenders', 'hello'], names)).toEqual({
      help: false,
      quick: true,
      scenarios: ['catalog', 'flash-hot'],
      contenders: ['boxoffice', 'redis-lua', 'hello'],
    });
    expect(parseBenchArgs(['-h'], names).help).toBe(true);
  });

  it.each([
    [['--scenario', 'nope'], /unknown scenario 'nope'/],
    [['--contenders', 'mysql'], /unknown contender 'mysql'/],
    [['--contenders', ','], /at least one/],
    [['--fast'], /Unknown option/],
    [['flash-hot'], /positional/],
    [['--scenario'], /argument missing/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBenchArgs(argv, names)).toThrow(UsageError);
    expect(() => parseBenchArgs(argv, names)).toThrow(message);
  });

  it('lists every scenario in the help text', () => {
    const text = helpText(names.map((name) => ({ name, description: `about ${name}` })));
    for (const n of names) expect(text).toContain(`about ${n}`);
    expect(text).toContain('--quick');
  });
});
