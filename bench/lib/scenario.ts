import type { BenchEnv } from './run-contender.js';
import type { ScenarioResult } from './run-record.js';
import type { ContenderKind, PaymentProviderKind } from './servers.js';

/** A bench scenario: one file under bench/scenarios/, run by bench/run.ts. */
export interface ScenarioOptions {
  quick: boolean;
  /** The contenders the command line asked for (all by default), in the order to run them. */
  contenders: ContenderKind[];
  /** The payment providers boxoffice runs with (--payments; simulated by default). Only flash-hot reads it. */
  payments: PaymentProviderKind[];
}

export interface Scenario {
  name: string;
  /** One line for --help and the results header. */
  description: string;
  run(env: BenchEnv, opts: ScenarioOptions): Promise<ScenarioResult>;
}

/** The contenders that sell (everything but the `hello` reference server). */
export const sellers = (contenders: ContenderKind[]): ContenderKind[] => contenders.filter((c) => c !== 'hello');
