import type { Check } from './run-record.js';

/**
 * A process a run starts before its server and stops after it, which the server talks to during the run — flash-hot's
 * Stripe test server for boxoffice's Stripe adapter. Like the database, each run gets a fresh one: nothing carries
 * over between runs. After the load settled, it audits what it saw; its checks count like every other check.
 */
export interface Sidecar {
  /** What the run logs and records it as ('stripe test server'). */
  name: string;
  start(): Promise<RunningSidecar>;
}

export interface RunningSidecar {
  name: string;
  pid: number;
  /** Settings for the server under test (PAYMENT_PROVIDER, STRIPE_API_BASE, …), on top of the scenario's own. */
  serverEnv: Record<string, string>;
  /** Names in serverEnv whose values the run record leaves out (keys and secrets). */
  secretEnvNames: string[];
  /** One line for the run's log: where it listens, how it runs. */
  describe(): string;
  /** After the load settled: checks of what it saw against the run's database, figures and notes for the record. */
  audit(databaseUrl: string): Promise<SidecarAudit>;
  stop(): Promise<void>;
}

export interface SidecarAudit {
  checks: Check[];
  metrics: Record<string, number | null>;
  notes: string[];
}

/** The server environment as recorded: secret values replaced by a placeholder, so results never carry a key. */
export function recordedEnv(env: Record<string, string>, secretNames: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, secretNames.includes(k) ? '(set, not recorded)' : v]));
}
