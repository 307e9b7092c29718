import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/**
 * CPU time of the processes a run cares about (the server under test, flash-hot's Stripe test server) and of the
 * whole machine, sampled from /proc while the load runs, so a figure can be read over exactly the sale (from the
 * load's start to its last order) rather than up to the sold-out poll a second later. Linux only: elsewhere every
 * reading is null and so are the figures. Parsing and interpolation are pure and tested.
 */
export type CpuReadings = Record<string, number | null>;

export interface CpuSample {
  /** performance.now() of the harness when the sample was taken. */
  atMs: number;
  /** CPU ms per series: a process's user + system time, `machineBusy`/`machineTotal` for the machine (all cores). */
  readings: CpuReadings;
}

/** Linux's USER_HZ: /proc counts CPU time in ticks of 1/100 s on every mainstream kernel build. */
const ticksPerSecond = 100;
/** How often the sampler reads /proc while the load runs. */
export const cpuSampleIntervalMs = 100;

/** utime + stime of /proc/<pid>/stat in ms; the command name (field 2) may contain spaces and parentheses. */
export function parseProcessStat(stat: string): number | null {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3 of the line, so utime (14) and stime (15) sit at 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / ticksPerSecond : null;
}

/** The `cpu` line of /proc/stat (every core): busy and total ms; idle and iowait count as not busy. */
export function parseMachineStat(stat: string): { busyMs: number; totalMs: number } | null {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest and guest_nice are already inside user and nice)
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 4 || ticks.some((t) => !Number.isFinite(t))) return null;
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + (ticks[4] ?? 0);
  return { busyMs: ((total - idle) * 1000) / ticksPerSecond, totalMs: (total * 1000) / ticksPerSecond };
}

/**
 * The CPU ms a series used between two instants, each read by linear interpolation between the samples around it;
 * null when the samples do not cover the interval or a reading is missing.
 */
export function cpuBetween(samples: CpuSample[], series: string, fromMs: number, toMs: number): number | null {
  const a = readingAt(samples, series, fromMs);
  const b = readingAt(samples, series, toMs);
  return a === null || b === null ? null : Math.max(0, b - a);
}

function readingAt(samples: CpuSample[], series: string, atMs: number): number | null {
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1]!;
    const after = samples[i]!;
    if (before.atMs > atMs || after.atMs < atMs) continue;
    const v0 = before.readings[series];
    const v1 = after.readings[series];
    if (v0 === null || v0 === undefined || v1 === null || v1 === undefined) return null;
    const span = after.atMs - before.atMs;
    return span === 0 ? v1 : v0 + ((v1 - v0) * (atMs - before.atMs)) / span;
  }
  return null;
}

export interface CpuSampler {
  readonly samples: CpuSample[];
  /** Takes a last sample and stops. */
  stop(): Promise<void>;
}

/** Samples the given processes (series name → pid) and the machine every cpuSampleIntervalMs until stopped. */
export function startCpuSampler(pids: Record<string, number>): CpuSampler {
  const samples: CpuSample[] = [];
  const take = async () => samples.push(await sample(pids));
  let pending = take();
  const timer = setInterval(() => {
    pending = pending.then(take);
  }, cpuSampleIntervalMs);
  timer.unref(); // a sampler left running by mistake must not keep the harness alive
  return {
    samples,
    async stop() {
      clearInterval(timer);
      await pending;
      await take();
    },
  };
}

async function sample(pids: Record<string, number>): Promise<CpuSample> {
  const atMs = performance.now();
  const read = (path: string) => readFile(path, 'utf8').catch(() => null);
  const [machine, ...processes] = await Promise.all([read('/proc/stat'), ...Object.values(pids).map((pid) => read(`/proc/${pid}/stat`))]);
  const readings: CpuReadings = {};
  Object.keys(pids).forEach((name, i) => (readings[name] = processes[i] ? parseProcessStat(processes[i]!) : null));
  const m = machine ? parseMachineStat(machine) : null;
  readings['machineBusy'] = m?.busyMs ?? null;
  readings['machineTotal'] = m?.totalMs ?? null;
  return { atMs, readings };
}
