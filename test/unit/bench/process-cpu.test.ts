import { describe, expect, it } from 'vitest';
import { cpuBetween, parseMachineStat, parseProcessStat, type CpuSample } from '../../../bench/lib/process-cpu.js';
import { saleCpuFigures } from '../../../bench/scenarios/flash-hot.js';

describe('reading /proc', () => {
  it('takes utime + stime of /proc/<pid>/stat in ms, whatever the command name holds', () => {
    const rest = 'S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 1 0';
    expect(parseProcessStat(`1234 (node) ${rest}`)).toBe(1_750);
    expect(parseProcessStat(`1234 (odd (name) with spaces) ${rest}`)).toBe(1_750);
    expect(parseProcessStat('garbage')).toBeNull();
  });

  it('takes the busy and total time of every core from the cpu line of /proc/stat; idle and iowait are not busy', () => {
    const stat = 'cpu  100 10 50 800 40 0 5 0 0 0\ncpu0 50 5 25 400 20 0 2 0 0 0\n';
    expect(parseMachineStat(stat)).toEqual({ busyMs: 1_650, totalMs: 10_050 });
    expect(parseMachineStat('intr 1 2 3')).toBeNull();
  });
});

const sample = (atMs: number, server: number | null, machineBusy = 0, machineTotal = 0, extra: Record<string, number | null> = {}): CpuSample => ({
  atMs,
  readings: { server, machineBusy, machineTotal, ...extra },
});

describe('cpuBetween', () => {
  const samples = [sample(0, 1_000), sample(100, 1_050), sample(200, 1_150)];

  it('interpolates linearly between the samples around each end', () => {
    expect(cpuBetween(samples, 'server', 50, 150)).toBe(75);
    expect(cpuBetween(samples, 'server', 0, 200)).toBe(150);
  });

  it('is null outside the samples, for an unknown series or a missing reading', () => {
    expect(cpuBetween(samples, 'server', -10, 100)).toBeNull();
    expect(cpuBetween(samples, 'server', 0, 250)).toBeNull();
    expect(cpuBetween(samples, 'stripeServer', 0, 100)).toBeNull();
    expect(cpuBetween([sample(0, 10), sample(100, null)], 'server', 0, 100)).toBeNull();
  });
});

describe('saleCpuFigures', () => {
  // The load started at harness time 1,000 ms; the last order came 2,000 ms later.
  const samples = [sample(900, 0, 0, 0, { stripeServer: 0 }), sample(1_000, 100, 200, 400, { stripeServer: 0 }), sample(3_000, 1_700, 3_400, 4_400, { stripeServer: 600 }), sample(4_000, 2_900, 5_000, 6_400, { stripeServer: 650 })];

  it('gives the share of a core and CPU ms per order of the server and the test server over the sale alone', () => {
    expect(saleCpuFigures(samples, 1_000, 2_000, 1_000)).toEqual({
      serverCpuPct: 80,
      serverCpuMsPerOrder: 1.6,
      stripeServerCpuPct: 30,
      stripeServerCpuMsPerOrder: 0.6,
      machineBusyPct: 80,
    });
  });

  it('has no test server figures without a test server, and nulls without an order or without samples', () => {
    const plain = samples.map((s) => sample(s.atMs, s.readings['server'] ?? null, s.readings['machineBusy'] ?? 0, s.readings['machineTotal'] ?? 0));
    expect(Object.keys(saleCpuFigures(plain, 1_000, 2_000, 1_000))).toEqual(['serverCpuPct', 'serverCpuMsPerOrder', 'machineBusyPct']);
    expect(saleCpuFigures(samples, 1_000, null, 0)).toEqual({ serverCpuPct: null, serverCpuMsPerOrder: null, stripeServerCpuPct: null, stripeServerCpuMsPerOrder: null, machineBusyPct: null });
    expect(saleCpuFigures([], 1_000, 2_000, 1_000)['serverCpuPct']).toBeNull();
  });
});
