import { refused, retentionOf, type CheckoutOutcome, type CheckoutResponse, type CheckoutResult } from './checkout-result.js';

/**
 * The idempotency-key table of a checkout actor (DESIGN.md, "Idempotency") as a pure transition:
 * `decideKey(entry, message) → { entry, replies, effect }`. The actor shell keeps one entry per key, applies the
 * decision, sends the replies and runs the effect (a database lookup, a saga). Every duplicate of a key meets in one
 * mailbox, so this table alone decides "in flight" (409), "replay" and "reused with another body" (422).
 *
 *   (none) ──submit, never seen──────────→ running  + start
 *   (none) ──submit, maybe seen──────────→ loading  + lookup
 *   loading ─submit──────────────────────→ loading  (waits)
 *   loading ─loaded, answered record─────→ done     (every waiter answered from it)
 *   loading ─loaded, unanswered record───→ (none)   (every waiter 503 NOT_READY: never risk a second run)
 *   loading ─loaded, no record───────────→ running  + start (first waiter; the others answered 409/422)
 *   running|done ─submit─────────────────→ same     (422 other body, 409 running, replay when done)
 *   any ─────resume──────────────────────→ running  + run (an answered key keeps its answer: done, or evicted)
 *   any ─────finished────────────────────→ done, or (none) when the outcome is forgotten
 *
 * `S` is the shell's submission (a client waiting for its answer); the decision only reads its fingerprint.
 */
export type KeyEntry<S> =
  | { t: 'loading'; waiters: S[] }
  | { t: 'running'; fingerprint: string }
  | { t: 'done'; fingerprint: string; outcome: CheckoutOutcome };

export interface KeySubmission {
  fingerprint: string;
}

/** A key's stored record: `response` is null when the record has no answer yet (or the lookup failed). */
export interface KeyRecord {
  fingerprint: string;
  response: CheckoutResponse | null;
}

export type KeyMessage<S extends KeySubmission> =
  /** `seenBefore`: the key may have been used before (the Bloom filter of known keys cannot rule it out). */
  | { t: 'submit'; submission: S; seenBefore: boolean }
  | { t: 'loaded'; record: KeyRecord | null }
  /**
   * A recorded plan runs again (recovery, or a retry after its run threw). `answered`: an earlier run answered the
   * client (the order is stored), so the key's answer stands whatever this run does.
   */
  | { t: 'resume'; fingerprint: string; answered: boolean }
  | { t: 'finished'; fingerprint: string; outcome: CheckoutOutcome; client: S | null };

export type KeyEffect<S> =
  /** Read the key's stored record; its answer comes back as `loaded`. */
  | { t: 'lookup' }
  /** Prepare and run a new checkout for this submission. */
  | { t: 'start'; submission: S }
  /** Run the recorded plan. */
  | { t: 'run' };

export interface KeyReply<S> {
  to: S;
  result: CheckoutResult;
  replayed: boolean;
}

export interface KeyDecision<S> {
  entry: KeyEntry<S> | undefined;
  replies: KeyReply<S>[];
  effect: KeyEffect<S> | null;
}

export function decideKey<S extends KeySubmission>(entry: KeyEntry<S> | undefined, msg: KeyMessage<S>): KeyDecision<S> {
  switch (msg.t) {
    case 'submit':
      return onSubmit(entry, msg.submission, msg.seenBefore);
    case 'loaded':
      return onLoaded(entry, msg.record);
    case 'resume': {
      // An answered key keeps its answer: in memory (done), or, once evicted, in its stored record (a later
      // request looks it up). Marking it running again would hold it "in use" for good: this run ends without a
      // `finished`, since its answer was given.
      if (entry?.t === 'done' || msg.answered) return { entry, replies: [], effect: { t: 'run' } };
      const running: KeyEntry<S> = { t: 'running', fingerprint: msg.fingerprint };
      return { entry: running, replies: answerAll(waitersOf(entry), running), effect: { t: 'run' } };
    }
    case 'finished': {
      const own: KeyReply<S>[] = msg.client === null ? [] : [{ to: msg.client, result: msg.outcome, replayed: false }];
      // A key answered before (a re-run of an acknowledged saga) keeps its first answer.
      if (entry?.t === 'done') return { entry, replies: own, effect: null };
      const next: KeyEntry<S> | undefined = retentionOf(msg.outcome) === 'forget' ? undefined : { t: 'done', fingerprint: msg.fingerprint, outcome: msg.outcome };
      return { entry: next, replies: [...own, ...answerAll(waitersOf(entry), next)], effect: null };
    }
  }
}

function onSubmit<S extends KeySubmission>(entry: KeyEntry<S> | undefined, s: S, seenBefore: boolean): KeyDecision<S> {
  if (entry === undefined) {
    if (!seenBefore) return { entry: { t: 'running', fingerprint: s.fingerprint }, replies: [], effect: { t: 'start', submission: s } };
    return { entry: { t: 'loading', waiters: [s] }, replies: [], effect: { t: 'lookup' } };
  }
  if (entry.t === 'loading') {
    // Appended in place: the entry belongs to the table alone, and copying the list for every duplicate would
    // cost quadratic time in a retry storm of one key while its lookup is slow.
    entry.waiters.push(s);
    return { entry, replies: [], effect: null };
  }
  return { entry, replies: [answer(entry, s)], effect: null };
}

function onLoaded<S extends KeySubmission>(entry: KeyEntry<S> | undefined, record: KeyRecord | null): KeyDecision<S> {
  if (entry?.t !== 'loading') return { entry, replies: [], effect: null };
  if (record !== null && record.response !== null) {
    const done: KeyEntry<S> = { t: 'done', fingerprint: record.fingerprint, outcome: { t: 'recorded', response: record.response } };
    return { entry: done, replies: answerAll(entry.waiters, done), effect: null };
  }
  // Known but unanswered (or unreadable): refuse rather than risk running a checkout twice.
  if (record !== null) return { entry: undefined, replies: answerAll(entry.waiters, undefined), effect: null };
  const [first, ...rest] = entry.waiters;
  if (first === undefined) return { entry: undefined, replies: [], effect: null };
  const running: KeyEntry<S> = { t: 'running', fingerprint: first.fingerprint };
  return { entry: running, replies: answerAll(rest, running), effect: { t: 'start', submission: first } };
}

function waitersOf<S>(entry: KeyEntry<S> | undefined): S[] {
  return entry?.t === 'loading' ? entry.waiters : [];
}

/** Answers waiters against the key's new entry; with none (the key was freed or unreadable) they retry later. */
function answerAll<S extends KeySubmission>(waiters: S[], entry: KeyEntry<S> | undefined): KeyReply<S>[] {
  return waiters.map((w) => (entry === undefined || entry.t === 'loading' ? { to: w, result: refused('NOT_READY'), replayed: false } : answer(entry, w)));
}

/** The answer to a submission of a key that is running or answered. */
export function answer<S extends KeySubmission>(entry: Exclude<KeyEntry<S>, { t: 'loading' }>, s: S): KeyReply<S> {
  if (entry.fingerprint !== s.fingerprint) return { to: s, result: refused('IDEMPOTENCY_KEY_REUSED'), replayed: false };
  if (entry.t === 'running') return { to: s, result: refused('IDEMPOTENCY_KEY_IN_USE'), replayed: false };
  return { to: s, result: entry.outcome, replayed: true };
}
