import { describe, expect, it } from 'vitest';
import { helpText, parseBenchArgs, UsageError } from '../../../bench/lib/cli-args.js';

const names = ['flash-hot', 'catalog', 'soldout-storm'];

describe('parseBenchArgs', () => {
  it('runs every scenario against the four sellers by default', () => {
    expect(parseBenchArgs([], names)).toEqual({ help: false, quick: false, scenarios: names, contenders: ['boxoffice', 'pg-conditional', 'pg-for-update', 'redis-lua'], payments: ['simulated'] });
  });

  it('takes repeated --scenario, --quick and a comma list of contenders in canonical order', () => {
    expect(parseBenchArgs(['--scenario', 'catalog', '--scenario', 'flash-hot', '--scenario', 'catalog', '--quick', '--contenders', 'redis-lua, boxoffice', '--contenders', 'hello'], names)).toEqual({
      help: false,
      quick: true,
      scenarios: ['catalog', 'flash-hot'],
      contenders: ['boxoffice', 'redis-lua', 'hello'],
      payments: ['simulated'],
    });
    expect(parseBenchArgs(['-h'], names).help).toBe(true);
  });

  it('takes --payments as a comma list in canonical order (simulated first), repeats dropped', () => {
    expect(parseBenchArgs(['--scenario', 'flash-hot', '--payments', 'stripe, simulated', '--payments', 'stripe'], names).payments).toEqual(['simulated', 'stripe']);
    expect(parseBenchArgs(['--scenario', 'flash-hot', '--contenders', 'boxoffice', '--payments', 'stripe'], names).payments).toEqual(['stripe']);
    // Without --scenario every scenario runs, flash-hot among them; the others ignore --payments.
    expect(parseBenchArgs(['--payments', 'simulated,stripe'], names).payments).toEqual(['simulated', 'stripe']);
    expect(parseBenchArgs(['--scenario', 'catalog', '--payments', 'simulated'], names).payments).toEqual(['simulated']);
  });

  it.each([
    [['--payments', 'paypal'], /unknown payment provider 'paypal'/],
    [['--payments', ' , '], /--payments needs at least one name/],
    [['--scenario', 'flash-hot', '--contenders', 'pg-conditional', '--payments', 'stripe'], /needs boxoffice among the contenders/],
    [['--scenario', 'catalog', '--payments', 'simulated,stripe'], /needs --scenario flash-hot/],
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
    expect(text).toContain('--payments a,b');
  });
});
