import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { actorLimits } from '../config/limits.js';
import { mergeLines, soldOutFromMemory, type CheckoutPlan, type CheckoutRequest } from '../domain/checkout.js';
import { answer, decideKey, type KeyDecision, type KeyMessage, type KeyEntry } from '../domain/checkout-key.js';
import { refused, rejected, renderCheckoutResult, retentionOf, type CheckoutOutcome, type CheckoutRejection, type CheckoutResult } from '../domain/checkout-result.js';
import { checkoutEntity } from '../domain/entities.js';
import type { ActorRef, ActorSystem } from './actor-system.js';
import type { KeyFilter } from './bloom-filter.js';
import { prepareCheckout, type PrepareDeps } from './checkout-prepare.js';
import { runCheckoutSaga, type SagaDeps } from './checkout-saga.js';
import { keyRecordOf, type CheckoutEvent, type Compensation, type SagaResume, type StoredResponse } from './checkout-types.js';
import { activeSpanContext, captureContext, runInContext } from '../telemetry/tracing.js';
import type { EventJournal } from './inventory-actor.js';

/** A checkout's answer as the actor gives it; the edge renders it (renderCheckoutResult). */
export interface CheckoutReply {
  result: CheckoutResult;
  replayed: boolean;
}

export type { StoredResponse } from './checkout-types.js';

/** A client's request for a key, waiting for its answer. */
interface Submission {
  key: string;
  fingerprint: string;
  request: CheckoutRequest;
  reply: (r: CheckoutReply) => void;
}

type CheckoutMsg =
  | { t: 'submit'; submission: Submission }
  | { t: 'loaded'; key: string; record: StoredResponse | null }
  /** `acknowledged`: the client was answered by an earlier run, which still counts in `committing`. */
  /** `traceContext`: the failed run's, for a retry (its spans stay in the request's trace); none from recovery (a root). */
  | { t: 'resume'; plan: CheckoutPlan; attempt: number; acknowledged: boolean; traceContext?: unknown }
  | { t: 'finished'; key: string; fingerprint: string; outcome: CheckoutOutcome; client: Submission | null };

export interface CheckoutActorDeps {
  system: ActorSystem;
  partition: number;
  journal: EventJournal;
  knownKeys: KeyFilter;
  lookup: (key: string) => Promise<StoredResponse | null>;
  prepare: PrepareDeps;
  /** Saga dependencies; the actor adds `recordCompensation` (it journals into its own partition). */
  saga: Omit<SagaDeps, 'recordCompensation'>;
  /** Arms the backoff of a saga that runs again. */
  clock: Clock;
  doneEntriesMax: number;
  log: Logger;
  onJournalFailure: (err: unknown) => void;
  /** A saga's `finished` event committed at `seq`: its entity can be snapshotted as finished (journal compaction). */
  onTombstone: (entity: string, seq: number) => void;
}

interface RunOptions {
  /** The client waiting for this run's answer, if any. */
  client?: Submission | null;
  /** A new checkout: its plan is journaled by this run. */
  fresh?: boolean;
  /** Runs of this plan that threw before this one (the backoff's exponent). */
  attempt?: number;
  /** An earlier run answered the client already (its order is durable): this run only completes the commit. */
  acknowledged?: boolean;
}

/**
 * The checkout actor of one partition: every idempotency key hashing here meets in this mailbox. It is a shell
 * around the pure key table (`decideKey`, src/domain/checkout-key.ts): the handler applies the table's decision,
 * sends its replies and runs its effects — a lookup of the key's record, or a saga run outside the handler that
 * reports back with `finished`. A reply is sent from the handler after the entry is `done`, so a retry that follows
 * a reply always sees the stored response.
 */
export class CheckoutActor {
  private readonly ref: ActorRef<CheckoutMsg>;
  private readonly entries = new Map<string, KeyEntry<Submission>>();
  /** Keys answered, oldest first, from `doneHead` on (a queue without per-eviction shifting). */
  private doneOrder: string[] = [];
  private doneHead = 0;
  /** The seq of the latest journal event of each running saga: its tombstone snapshot covers up to it. */
  private readonly lastSeqs = new Map<string, number>();
  /** The `started` append of each saga begun here and not finished: a re-run waits for it (rerecordPlan). */
  private readonly planRecords = new Map<string, Promise<void>>();
  /** Compensations journaled by sagas still running here, so an in-process re-run repeats only them. */
  private readonly compensations = new Map<string, Compensation>();
  private readonly sagaDeps: SagaDeps;
  /** Submissions not answered yet: answered 503 when the actor stops (its partition left), so no client waits forever. */
  private readonly unanswered = new Set<(r: CheckoutReply) => void>();
  private stopped = false;
  /** Sagas answered (their order is durable) and still committing their holds. */
  private committing = 0;
  /** Keys whose saga is running or waiting to run again: a pinned hold of theirs is theirs to resolve. */
  private readonly sagaKeys = new Set<string>();

  constructor(private readonly deps: CheckoutActorDeps) {
    this.sagaDeps = {
      ...deps.saga,
      alive: () => !this.stopped,
      recordCompensation: async (plan, rejection, authId) => {
        const ev: CheckoutEvent = { t: 'compensating', rejection, outcome: { response: renderCheckoutResult(rejection), retention: rejection.retention }, authId };
        this.lastSeqs.set(plan.key, await this.append(plan.key, ev));
        // Remembered only once durable: one kept from a fenced append let a re-run void an authorization that the new
        // owner, resuming from a journal without it, authorized again with the same key and confirmed (seed 3325).
        this.compensations.set(plan.key, { rejection, authId });
      },
    };
    this.ref = deps.system.spawn<null, CheckoutMsg>({
      name: `checkouts:${deps.partition}`,
      initialState: null,
      mailboxMax: Number.MAX_SAFE_INTEGER, // admission control happens before: the node's in-flight checkout bound
      handle: (s, msg) => {
        this.handle(msg);
        return s;
      },
      onBug: (err) => deps.log.error({ err, partition: deps.partition }, 'checkout actor bug'),
    });
  }

  /**
   * The sold-out fast path, synchronous and outside the mailbox: a replay of a key this actor answered, or a fresh
   * key (certain: the Bloom filter says never seen) buying SKUs that are sold out with no write in flight. It
   * records its answer exactly as the slow path would, so later requests with the key see the same response.
   * Returns null when the request needs the actor.
   */
  answerFromMemory(key: string, fingerprint: string, request: CheckoutRequest): CheckoutReply | null {
    const e = this.entries.get(key);
    if (e) {
      if (e.t !== 'done') return null;
      const r = answer(e, { fingerprint });
      return { result: r.result, replayed: r.replayed };
    }
    if (!request.items || this.deps.knownKeys.mightContain(key)) return null;
    const lines = mergeLines(request.items);
    if (!lines.every((l) => this.deps.prepare.product(l.sku))) return null;
    const short = soldOutFromMemory(lines, this.deps.prepare.inventoryView);
    if (short.length === 0) return null;
    const outcome = rejected('OUT_OF_STOCK', 'memory', { skus: short });
    this.decide(key, { t: 'finished', fingerprint, outcome, client: null });
    return { result: outcome, replayed: false };
  }

  submit(key: string, fingerprint: string, request: CheckoutRequest): Promise<CheckoutReply> {
    return new Promise((resolve) => {
      let answered = false;
      const reply = (r: CheckoutReply) => {
        if (answered) return;
        answered = true;
        this.unanswered.delete(reply);
        resolve(r);
      };
      this.unanswered.add(reply);
      if (this.stopped || !this.ref.tell({ t: 'submit', submission: { key, fingerprint, request, reply } }, true)) reply(partitionLeft(this.deps.partition));
    });
  }

  /**
   * Recovery: re-run a saga that has no tombstone, with its journaled compensation if any; `lastSeq` is the seq of
   * its latest journal event.
   */
  resume(plan: CheckoutPlan, compensating: SagaResume['compensating'], lastSeq: number): void {
    if (compensating) this.compensations.set(plan.key, compensating);
    this.lastSeqs.set(plan.key, lastSeq);
    // Running from now on, not from when the mailbox gets to it: a pinned-hold resolver asking meanwhile leaves it be.
    this.sagaKeys.add(plan.key);
    this.ref.tell({ t: 'resume', plan, attempt: 0, acknowledged: false }, true);
  }

  /** Whether a checkout of `key` is being prepared or its saga runs (or waits to run again) on this actor. */
  isRunning(key: string): boolean {
    const e = this.entries.get(key);
    return this.sagaKeys.has(key) || e?.t === 'running' || e?.t === 'loading';
  }

  /** Checkouts not finished (queued, waiting for their key's lookup, running, or answered and still committing their holds): a move waits until none is left. */
  running(): number {
    let n = this.ref.queued() + this.committing;
    for (const e of this.entries.values()) if (e.t !== 'done') n++;
    return n;
  }

  /**
   * Stops the mailbox: a saga still running stops before its next side effect (the partition's new owner resumes
   * it from the journal), and every submission not answered yet gets 503 PARTITION_UNAVAILABLE (retry: the new
   * owner answers with the same Idempotency-Key).
   */
  stop(): void {
    this.stopped = true;
    this.ref.stop();
    for (const reply of [...this.unanswered]) reply(partitionLeft(this.deps.partition));
  }

  private handle(msg: CheckoutMsg): void {
    switch (msg.t) {
      case 'submit': {
        const { key } = msg.submission;
        this.decide(key, { t: 'submit', submission: msg.submission, seenBefore: this.entries.has(key) || this.deps.knownKeys.mightContain(key) });
        return;
      }
      case 'loaded':
        if (msg.record !== null) this.deps.knownKeys.add(msg.key);
        this.decide(msg.key, { t: 'loaded', record: keyRecordOf(msg.record) });
        return;
      case 'resume':
        this.deps.knownKeys.add(msg.plan.key);
        // The key table says `run` for every resume; a key answered before keeps its answer while the plan runs.
        this.decide(msg.plan.key, { t: 'resume', fingerprint: msg.plan.fingerprint, answered: msg.acknowledged });
        void runInContext(msg.traceContext, () => this.runSaga(msg.plan, { attempt: msg.attempt, acknowledged: msg.acknowledged }));
        return;
      case 'finished':
        if (retentionOf(msg.outcome) === 'durable') this.deps.knownKeys.add(msg.key);
        this.decide(msg.key, { t: 'finished', fingerprint: msg.fingerprint, outcome: msg.outcome, client: msg.client });
        return;
    }
  }

  /** Applies the key table's decision for `key`: the new entry, its replies, and the lookup or start it asks for. */
  private decide(key: string, msg: KeyMessage<Submission>): KeyDecision<Submission> {
    const before = this.entries.get(key);
    const d = decideKey(before, msg);
    if (d.entry === undefined) this.entries.delete(key);
    else if (d.entry !== before) {
      this.entries.set(key, d.entry);
      if (d.entry.t === 'done') this.remember(key);
    }
    for (const r of d.replies) r.to.reply({ result: r.result, replayed: r.replayed });
    if (d.effect?.t === 'lookup') this.lookup(key);
    else if (d.effect?.t === 'start') void this.launch(d.effect.submission);
    return d;
  }

  private lookup(key: string): void {
    this.deps.lookup(key).then(
      (record) => this.ref.tell({ t: 'loaded', key, record }, true),
      (err: unknown) => {
        this.deps.log.error({ err }, 'idempotency lookup failed');
        // An unreadable record counts as "known, unanswered": the key is refused, never run twice.
        this.ref.tell({ t: 'loaded', key, record: { fingerprint: '', statusCode: null, body: null } }, true);
      },
    );
  }

  /** Prepares and runs a checkout in its request's trace context, carried through the mailbox in the request. */
  private launch(m: Submission): Promise<void> {
    return runInContext(m.request.traceContext, () => this.prepareAndRun(m));
  }

  private async prepareAndRun(m: Submission): Promise<void> {
    let outcome: CheckoutRejection;
    try {
      const prepared = await prepareCheckout(m.request, m.key, m.fingerprint, this.deps.prepare);
      if (!('plan' in prepared)) outcome = prepared;
      else {
        // Only keys that may be stored go into the filter (a saga records its plan, then its answer); a sold-out or
        // invalid request answered without one never is, so a storm of them cannot fill it.
        this.deps.knownKeys.add(m.key);
        return await this.runSaga(prepared.plan, { client: m, fresh: true });
      }
    } catch (err) {
      this.deps.log.error({ err, key: m.key, correlation_id: m.request.correlationId }, 'checkout preparation failed');
      outcome = rejected('INTERNAL', 'forget');
    }
    this.ref.tell({ t: 'finished', key: m.key, fingerprint: m.fingerprint, outcome, client: m }, true);
  }

  /**
   * Runs a saga whose plan is durable (or, when `fresh`, is being journaled now). A saga that throws (the database
   * or the provider failed in a way the steps do not expect) is never forgotten: it may hold stock or an
   * authorization, so it runs again from its plan after a backoff (every step is idempotent) while its key stays in
   * flight; the waiting client gets 503 and retries.
   */
  private async runSaga(plan: CheckoutPlan, opts: RunOptions): Promise<void> {
    const { client = null, fresh = false, attempt = 0 } = opts;
    this.sagaKeys.add(plan.key);
    const recorded = fresh ? this.recordPlan(plan) : this.rerecordPlan(plan);
    // Answered once the order is durable; the saga goes on committing the holds (counted in `committing` until it
    // ends, retries included, so a move waits for it) and is tombstoned only after that.
    let acknowledged = opts.acknowledged ?? false;
    const acknowledge = (outcome: CheckoutOutcome) => {
      // A re-run of a saga answered before has nothing to add: its key is answered (from memory or, once evicted,
      // from the stored record).
      if (acknowledged) return;
      acknowledged = true;
      this.committing++;
      this.ref.tell({ t: 'finished', key: plan.key, fingerprint: plan.fingerprint, outcome, client }, true);
    };
    let outcome: CheckoutOutcome;
    try {
      const resume: SagaResume | undefined = fresh && attempt === 0 ? undefined : { compensating: this.compensations.get(plan.key) ?? null };
      outcome = await runCheckoutSaga(plan, this.sagaDeps, { ...(resume ? { resume } : {}), ...(recorded ? { recorded } : {}), acknowledge });
    } catch (err) {
      this.onSagaThrew(plan, err, { client, attempt, acknowledged });
      return;
    }
    // The tombstone: recovery skips this saga. Its response is already stored (or needs none), so the reply does
    // not wait for it.
    this.compensations.delete(plan.key);
    this.planRecords.delete(plan.key);
    this.sagaKeys.delete(plan.key);
    this.tombstone(plan.key);
    if (acknowledged) this.committing--;
    else this.ref.tell({ t: 'finished', key: plan.key, fingerprint: plan.fingerprint, outcome, client }, true);
  }

  /**
   * A fresh saga's plan is appended now and not awaited: the saga waits for it after reserving (the reserve step's
   * `awaitsPlanRecord`), which saves one group-commit round on every checkout.
   */
  private recordPlan(plan: CheckoutPlan): Promise<void> {
    const recorded = this.append(plan.key, { t: 'started', plan } satisfies CheckoutEvent).then((seq) => {
      this.lastSeqs.set(plan.key, Math.max(seq, this.lastSeqs.get(plan.key) ?? 0));
    });
    // Observed at once, so a failed append is never an unhandled rejection; the saga reads its outcome later.
    recorded.catch((err: unknown) => this.deps.log.error({ err, key: plan.key, correlation_id: plan.correlationId }, 'checkout could not be recorded'));
    this.planRecords.set(plan.key, recorded);
    return recorded;
  }

  /**
   * Appends a saga event. A refused one goes to `onJournalFailure` before the saga sees it: a fenced one drops the
   * partition and stops this actor, so the saga stops before any undo (the new owner runs the checkout on), and the
   * host never keeps serving a partition whose journal refuses every append (its checkouts retrying for ever).
   */
  private append(key: string, ev: CheckoutEvent): Promise<number> {
    return this.deps.journal.append(this.deps.partition, checkoutEntity(key), ev, activeSpanContext()).catch((err: unknown) => {
      this.deps.onJournalFailure(err);
      throw err;
    });
  }

  /**
   * A re-run in this process of a saga whose first run threw before it waited for its plan's record (a reserve that
   * failed in transit, say): the re-run waits for that record too, and appends the plan again if it failed, so no
   * payment is ever attempted for a checkout recovery cannot see. Undefined for a plan read from the journal.
   */
  private rerecordPlan(plan: CheckoutPlan): Promise<void> | undefined {
    const first = this.planRecords.get(plan.key);
    if (first === undefined) return undefined;
    const again = first.then(
      () => undefined,
      () => this.recordPlan(plan),
    );
    again.catch(() => undefined);
    return again;
  }

  private onSagaThrew(plan: CheckoutPlan, err: unknown, run: { client: Submission | null; attempt: number; acknowledged: boolean }): void {
    if (this.stopped) {
      this.sagaKeys.delete(plan.key);
      this.planRecords.delete(plan.key);
      if (run.acknowledged) this.committing--;
      this.deps.log.warn({ key: plan.key, checkoutId: plan.checkoutId, correlation_id: plan.correlationId, err: (err as Error).message }, 'checkout saga stopped: its partition left this node');
      if (!run.acknowledged) run.client?.reply(partitionLeft(this.deps.partition));
      return;
    }
    const delayMs = Math.min(actorLimits.sagaRetryDelayMsMax, actorLimits.sagaRetryDelayMsBase * 2 ** run.attempt);
    this.deps.log.error({ err, key: plan.key, checkoutId: plan.checkoutId, correlation_id: plan.correlationId, attempt: run.attempt, delayMs }, 'checkout saga failed; it will run again');
    if (!run.acknowledged) run.client?.reply({ result: refused('NOT_READY'), replayed: false });
    // An answered saga stays counted while it waits to run again; the resume that ends it uncounts it.
    const traceContext = captureContext(this.sagaDeps.tracing);
    this.deps.clock.setTimer(this.deps.clock.now() + delayMs, () => {
      if (this.ref.tell({ t: 'resume', plan, attempt: run.attempt + 1, acknowledged: run.acknowledged, traceContext }, true)) return;
      this.sagaKeys.delete(plan.key);
      this.planRecords.delete(plan.key);
      if (run.acknowledged) this.committing--;
    });
  }

  /**
   * A finished saga's tombstone is a snapshot of its entity at its latest event's seq (written in batches by the
   * snapshot writer): recovery skips it and compaction deletes its events. No journal write per checkout; a lost
   * tombstone only means recovery runs the saga again, which finds its stored response and stops.
   */
  private tombstone(key: string): void {
    const seq = this.lastSeqs.get(key);
    this.lastSeqs.delete(key);
    if (seq !== undefined) this.deps.onTombstone(checkoutEntity(key), seq);
  }

  /** Bounded memory: the oldest answers are evicted; durable ones are looked up again on a later replay. */
  private remember(key: string): void {
    this.doneOrder.push(key);
    while (this.doneOrder.length - this.doneHead > this.deps.doneEntriesMax) {
      const old = this.doneOrder[this.doneHead++]!;
      if (this.entries.get(old)?.t === 'done') this.entries.delete(old);
    }
    if (this.doneHead > this.deps.doneEntriesMax) {
      this.doneOrder = this.doneOrder.slice(this.doneHead);
      this.doneHead = 0;
    }
  }
}

function partitionLeft(partition: number): CheckoutReply {
  return { result: refused('PARTITION_UNAVAILABLE', { partition, reason: 'the partition moved; retry with the same Idempotency-Key' }), replayed: false };
}
