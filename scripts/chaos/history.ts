import { attemptKind, keyOutcome, type AttemptKind, type Outcome } from './outcome.js';

/**
 * The history of a chaos run, as Jepsen keeps one: every request with its invoke and complete times, the key it
 * carried, the node it went to, what came back (status and error code, or the transport error) and what that
 * means. The checker reads it after the run; nothing here interprets the database.
 */
export interface Attempt {
  /** The client (a logical process) that sent it. */
  client: number;
  key: string;
  node: string;
  invokeMs: number;
  completeMs: number;
  status: number | null;
  code: string | null;
  /** The order id of a 201 (or of a 202 pending). */
  orderId: string | null;
  /** A transport error's message (timeout, reset, refused). */
  error: string | null;
  kind: AttemptKind;
}

/** What the client asked for under a key: the lines of its checkout. */
export interface Operation {
  key: string;
  lines: { sku: string; qty: number }[];
  paymentMethod: string;
}

export interface KeySummary {
  key: string;
  outcome: Outcome;
  attempts: number;
  /** The order id a 201 acknowledged; null unless ok. */
  ackedOrderId: string | null;
}

export class History {
  readonly attempts: Attempt[] = [];
  readonly operations = new Map<string, Operation>();

  invoke(op: Operation): void {
    if (!this.operations.has(op.key)) this.operations.set(op.key, op);
  }

  complete(a: Omit<Attempt, 'kind'>): Attempt {
    const attempt: Attempt = { ...a, kind: attemptKind(a.status, a.code) };
    this.attempts.push(attempt);
    return attempt;
  }

  /** Counts of attempts by kind, for the progress line. */
  tally(): Record<AttemptKind, number> {
    const t: Record<AttemptKind, number> = { ok: 0, verdict: 0, refused: 0, unknown: 0 };
    for (const a of this.attempts) t[a.kind]++;
    return t;
  }

  /** One summary per key, in the order keys were first invoked. */
  keys(): KeySummary[] {
    return summarizeKeys([...this.operations.keys()], this.attempts);
  }
}

export function summarizeKeys(keys: readonly string[], attempts: readonly Attempt[]): KeySummary[] {
  const byKey = new Map<string, Attempt[]>(keys.map((k) => [k, []]));
  for (const a of attempts) byKey.get(a.key)?.push(a);
  return keys.map((key) => {
    const list = byKey.get(key) ?? [];
    const ack = list.find((a) => a.kind === 'ok');
    return { key, outcome: keyOutcome(list.map((a) => a.kind)), attempts: list.length, ackedOrderId: ack?.orderId ?? null };
  });
}
