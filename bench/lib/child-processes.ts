import type { ChildProcess } from 'node:child_process';

/**
 * Every process the harness starts (servers, load workers) is registered here, so that no path out of the harness
 * — normal exit, an exception, Ctrl-C, SIGTERM — leaves a server or a load generator running. On 'exit' Node runs
 * only synchronous code, so the last resort is SIGKILL to each child by its pid; orderly stops (SIGTERM first)
 * happen earlier, in the code that started the child.
 */
const live = new Set<ChildProcess>();
let installed = false;
let interruptedBy: NodeJS.Signals | null = null;
const cleanups: Array<() => Promise<void>> = [];

export function trackChild(child: ChildProcess): ChildProcess {
  installHandlers();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Async cleanups (dropping bench databases) run on SIGINT/SIGTERM before the process exits, bounded by `boundMs`. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.push(cleanup);
  return () => {
    const i = cleanups.indexOf(cleanup);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/**
 * Set once Ctrl-C or SIGTERM arrived: the harness is on its way out, and must not start anything new (a database
 * created after the cleanups were collected would be left behind).
 */
export function assertNotInterrupted(): void {
  if (interruptedBy) throw new Error(`interrupted by ${interruptedBy}`);
}

export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

/** How long the interrupt handler waits for async cleanups before exiting anyway. */
const interruptCleanupMsMax = 10_000;

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllChildren);
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy) process.exit(130); // a second Ctrl-C: leave now
    interruptedBy = signal;
    process.stderr.write(`\nbench: ${signal}: stopping every server and load worker, dropping bench databases\n`);
    killAllChildren();
    const bound = new Promise((resolve) => setTimeout(resolve, interruptCleanupMsMax).unref());
    Promise.race([Promise.allSettled(cleanups.map((c) => c())), bound]).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
