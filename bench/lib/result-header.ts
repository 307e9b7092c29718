import { execFileSync } from 'node:child_process';
import { cpus, platform, release, totalmem } from 'node:os';
import { benchLimits } from './bench-limits.js';

/**
 * What every result file names first (STYLE.md habit 13): the date, the command, the commit, the machine and the
 * services, so a figure can always be traced to where and how it was measured.
 */
export interface ResultHeader {
  date: string;
  command: string;
  commit: string;
  /** True when the working tree had changes the commit does not contain. */
  dirty: boolean;
  machine: { cores: number; cpuModel: string; memoryBytes: number; platform: string; release: string; node: string };
  postgres: string;
  redis: string;
  quick: boolean;
  /** Knobs the harness passed to every server; absent ones are the servers' defaults. */
  knobs: Record<string, string>;
}

export function machineInfo(): ResultHeader['machine'] {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    platform: platform(),
    release: release(),
    node: process.version,
  };
}

export function gitCommit(cwd: string): { commit: string; dirty: boolean } {
  const git = (args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', timeout: benchLimits.commandMsMax, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain']).length > 0 };
  } catch {
    return { commit: 'unknown (not a git checkout)', dirty: false };
  }
}

/** YYYY-MM-DD in UTC: the results file name and the header date. */
export const utcDate = (d: Date): string => d.toISOString().slice(0, 10);
