import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` to its end with exactly `env`, collecting its output; killed after `timeoutMs`. */
export async function runProcess(command: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<ProcessRun> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
