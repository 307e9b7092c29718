import type { Logger } from 'pino';
import { errorBody } from '../errors.js';
import { mergeLines, soldOutFromMemory, type CheckoutPlan, type CheckoutRequest } from '../domain/checkout.js';
import { checkoutEntity } from '../domain/entities.js';
import type { ActorRef, ActorSystem } from './actor-system.js';
import type { BloomFilter } from './bloom-filter.js';
import { prepareCheckout, type PrepareDeps } from './checkout-prepare.js';
import { runCheckoutSaga, type SagaDeps } from './checkout-saga.js';
import type { CheckoutEvent, CheckoutOutcome, CheckoutResponse, SagaResume } from './checkout-types.js';
import type { EventJournal } from './inventory-actor.js';

export interface CheckoutReply extends CheckoutResponse {
  replayed: boolean;
}

export interface StoredResponse {
  fingerprint: string;
  statusCode: number | null;
  body: unknown;
}

/** Backoff of a saga that threw: doubling from the base, capped. */
const sagaRetryDelayMsBase = 200;
const sagaRetryDelayMsMax = 30_000;

type Entry =
  | { t: 'loading'; waiters: Submit[] }
  | { t: 'running'; fingerprint: string }
  | { t: 'done'; fingerprint: string; response: CheckoutResponse };

interface Submit {
  t: 'submit';
  key: string;
  fingerprint: string;
  request: CheckoutRequest;
  reply: (r: CheckoutReply) => void;
}

type CheckoutMsg =
  | Submit
  | { t: 'loaded'; key: string; record: StoredResponse | null }
  /** `acknowledged`: the client was answered by an earlier run, which still counts in `committing`. */
  | { t: 'resume'; plan: CheckoutPlan; attempt: number; acknowledged?: boolean }
  | { t: 'finished'; key: string; fingerprint: string; outcome: CheckoutOutcome; reply: ((r: CheckoutReply) => void) | null };

export interface CheckoutActorDeps {
  system: ActorSystem;
  partition: number;
  journal: EventJournal;
  knownKeys: BloomFilter;
  lookup: (key: string) => Promise<StoredResponse | null>;
  prepare: PrepareDeps;
  /** Saga dependencies; the actor adds `recordCompensation` (it journals into its own partition). */
  saga: Omit<SagaDeps, 'recordCompensation'>;
  doneEntriesMax: number;
  log: Logger;
  onJournalFailure: (err: unknown) => void;
  /** A saga's `finished` event committed at `seq`: its entity can be snapshotted as finished (journal compaction). */
  onTombstone: (entity: string, seq: number) => void;
}

/**
 * The checkout actor of one partition: every idempotency key hashing here meets in this mailbox, so a duplicate
 * in flight (409), a replay and a reuse with another body (422) are decided from memory, single-threaded. Sagas
 * run as effects outside the handler and report back with `finished`; the reply is sent from the handler, after
 * the entry is `done`, so a retry that follows a reply always sees the stored response.
 */
export class CheckoutActor {
  private readonly ref: ActorRef<CheckoutMsg>;
  private readonly entries = new Map<string, Entry>();
  /** Keys answered, oldest first, from `doneHead` on (a queue without per-eviction shifting). */
  private doneOrder: string[] = [];
  private doneHead = 0;
  /** The seq of the latest journal event of each running saga: its tombstone snapshot covers up to it. */
  private readonly lastSeqs = new Map<string, number>();
  /** Compensations journaled by sagas still running here, so an in-process re-run repeats only them. */
  private readonly compensations = new Map<string, NonNullable<SagaResume['compensating']>>();
  private readonly sagaDeps: SagaDeps;
  /** Submits not answered yet: answered 503 when the actor stops (its partition left), so no client waits forever. */
  private readonly unanswered = new Set<(r: CheckoutReply) => void>();
  private stopped = false;
  /** Sagas answered (their order is durable) and still committing their holds. */
  private committing = 0;

  constructor(private readonly deps: CheckoutActorDeps) {
    this.sagaDeps = {
      ...deps.saga,
      alive: () => !this.stopped,
      recordCompensation: async (plan, outcome, authId) => {
        this.compensations.set(plan.key, { outcome, authId });
        const ev: CheckoutEvent = { t: 'compensating', outcome, authId };
        this.lastSeqs.set(plan.key, await deps.journal.append(deps.partition, checkoutEntity(plan.key), ev));
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
      let reply: CheckoutReply | null = null;
      answerExisting(e, { t: 'submit', key, fingerprint, request, reply: (r) => (reply = r) });
      return reply;
    }
    if (!request.items || this.deps.knownKeys.mightContain(key)) return null;
    const lines = mergeLines(request.items);
    if (!lines.every((l) => this.deps.prepare.product(l.sku))) return null;
    const short = soldOutFromMemory(lines, this.deps.prepare.inventoryView);
    if (short.length === 0) return null;
    const response: CheckoutResponse = { statusCode: 409, body: errorBody('OUT_OF_STOCK', { skus: short }) };
    this.setDone(key, fingerprint, response);
    return { ...response, replayed: false };
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
      if (this.stopped || !this.ref.tell({ t: 'submit', key, fingerprint, request, reply }, true)) reply(partitionLeft(this.deps.partition));
    });
  }

  /**
   * Recovery: re-run a saga that has no tombstone, with its journaled compensation if any; `lastSeq` is the seq of
   * its latest journal event.
   */
  resume(plan: CheckoutPlan, compensating: SagaResume['compensating'], lastSeq: number): void {
    if (compensating) this.compensations.set(plan.key, compensating);
    this.lastSeqs.set(plan.key, lastSeq);
    this.ref.tell({ t: 'resume', plan, attempt: 0 }, true);
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

  /** Checkouts not finished (queued, waiting for their key's lookup, running, or answered and still committing their holds): a move waits until none is left. */
  running(): number {
    let n = this.ref.queued() + this.committing;
    for (const e of this.entries.values()) if (e.t !== 'done') n++;
    return n;
  }

  /**
   * Stops the mailbox: a saga still running stops before its next side effect (the partition's new owner resumes
   * it from the journal), and every submit not answered yet gets 503 PARTITION_UNAVAILABLE (retry: the new owner
   * answers with the same Idempotency-Key).
   */
  stop(): void {
    this.stopped = true;
    this.ref.stop();
    for (const reply of [...this.unanswered]) reply(partitionLeft(this.deps.partition));
  }

  private handle(msg: CheckoutMsg): void {
    switch (msg.t) {
      case 'submit':
        return this.onSubmit(msg);
      case 'loaded':
        return this.onLoaded(msg.key, msg.record);
      case 'resume':
        // A saga answered before it failed (its order is stored) keeps its answer while it runs again.
        if (this.entries.get(msg.plan.key)?.t !== 'done') this.entries.set(msg.plan.key, { t: 'running', fingerprint: msg.plan.fingerprint });
        this.deps.knownKeys.add(msg.plan.key);
        void this.runSaga(msg.plan, null, false, msg.attempt, msg.acknowledged ?? false);
        return;
      case 'finished':
        return this.onFinished(msg.key, msg.fingerprint, msg.outcome, msg.reply);
    }
  }

  private onSubmit(m: Submit): void {
    const e = this.entries.get(m.key);
    if (!e) {
      if (!this.deps.knownKeys.mightContain(m.key)) return this.start(m);
      this.entries.set(m.key, { t: 'loading', waiters: [m] });
      this.deps.lookup(m.key).then(
        (record) => this.ref.tell({ t: 'loaded', key: m.key, record }, true),
        (err: unknown) => {
          this.deps.log.error({ err }, 'idempotency lookup failed');
          this.ref.tell({ t: 'loaded', key: m.key, record: { fingerprint: '', statusCode: null, body: null } }, true);
        },
      );
      return;
    }
    if (e.t === 'loading') e.waiters.push(m);
    else answerExisting(e, m);
  }

  private onLoaded(key: string, record: StoredResponse | null): void {
    const e = this.entries.get(key);
    if (!e || e.t !== 'loading') return;
    const [first, ...rest] = e.waiters;
    if (record && record.statusCode !== null) this.setDone(key, record.fingerprint, { statusCode: record.statusCode, body: record.body });
    else if (record) {
      // The key is known but unanswered (a failed lookup): refuse rather than risk running a checkout twice.
      this.entries.delete(key);
      for (const w of e.waiters) w.reply({ statusCode: 503, body: errorBody('NOT_READY'), replayed: false });
      return;
    } else if (first) this.start(first);
    const now = this.entries.get(key);
    for (const w of record ? e.waiters : rest) if (now && now.t !== 'loading') answerExisting(now, w);
  }

  private start(m: Submit): void {
    this.entries.set(m.key, { t: 'running', fingerprint: m.fingerprint });
    this.deps.knownKeys.add(m.key);
    void this.launch(m);
  }

  private async launch(m: Submit): Promise<void> {
    let outcome: CheckoutOutcome;
    try {
      const prepared = await prepareCheckout(m.request, m.key, m.fingerprint, this.deps.prepare);
      if (!('ok' in prepared)) outcome = prepared;
      else return await this.runSaga(prepared.plan, m.reply, true);
    } catch (err) {
      this.deps.log.error({ err, key: m.key }, 'checkout preparation failed');
      outcome = { retention: 'forget', response: { statusCode: 500, body: errorBody('INTERNAL') } };
    }
    this.ref.tell({ t: 'finished', key: m.key, fingerprint: m.fingerprint, outcome, reply: m.reply }, true);
  }

  /**
   * Runs a saga whose plan is durable. A saga that throws (the database or the provider failed in a way the steps
   * do not expect) is never forgotten: it may hold stock or an authorization, so it runs again from its plan after
   * a backoff (every step is idempotent) while its key stays in flight; the waiting client gets 503 and retries.
   */
  private async runSaga(plan: CheckoutPlan, reply: ((r: CheckoutReply) => void) | null, fresh: boolean, attempt = 0, answeredBefore = false): Promise<void> {
    // A fresh saga's plan is appended now and not awaited: the saga waits for it after reserving (see
    // runCheckoutSaga), which saves one group-commit round on every checkout.
    const recorded = fresh
      ? this.deps.journal.append(this.deps.partition, checkoutEntity(plan.key), { t: 'started', plan } satisfies CheckoutEvent).then((seq) => {
          this.lastSeqs.set(plan.key, Math.max(seq, this.lastSeqs.get(plan.key) ?? 0));
        })
      : undefined;
    // Observed at once, so a failed append is never an unhandled rejection; the saga reads its outcome later.
    recorded?.catch((err: unknown) => this.deps.log.error({ err, key: plan.key }, 'checkout could not be recorded'));
    let outcome: CheckoutOutcome;
    // Answered once the order is durable; the saga goes on committing the holds (counted in `committing` until it
    // ends, retries included, so a move waits for it) and is tombstoned only after that.
    let acknowledged = answeredBefore;
    const acknowledge = (response: CheckoutResponse) => {
      // A re-run of a saga answered before has nothing to add: its key is answered (from memory or, once evicted,
      // from the stored record).
      if (acknowledged) return;
      acknowledged = true;
      this.committing++;
      this.ref.tell({ t: 'finished', key: plan.key, fingerprint: plan.fingerprint, outcome: { retention: 'durable', response }, reply }, true);
    };
    try {
      const resume: SagaResume | undefined = fresh && attempt === 0 ? undefined : { compensating: this.compensations.get(plan.key) ?? null };
      outcome = await runCheckoutSaga(plan, this.sagaDeps, resume, recorded, acknowledge);
    } catch (err) {
      if (this.stopped) {
        if (acknowledged) this.committing--;
        this.deps.log.warn({ key: plan.key, checkoutId: plan.checkoutId, err: (err as Error).message }, 'checkout saga stopped: its partition left this node');
        if (!acknowledged) reply?.(partitionLeft(this.deps.partition));
        return;
      }
      const delayMs = Math.min(sagaRetryDelayMsMax, sagaRetryDelayMsBase * 2 ** attempt);
      this.deps.log.error({ err, key: plan.key, checkoutId: plan.checkoutId, attempt, delayMs }, 'checkout saga failed; it will run again');
      if (!acknowledged) reply?.({ statusCode: 503, body: errorBody('NOT_READY'), replayed: false });
      // An answered saga stays counted while it waits to run again; the resume that ends it uncounts it.
      setTimeout(() => {
        if (!this.ref.tell({ t: 'resume', plan, attempt: attempt + 1, acknowledged }, true) && acknowledged) this.committing--;
      }, delayMs).unref();
      return;
    }
    // The tombstone: recovery skips this saga. Its response is already stored (or needs none), so the reply does
    // not wait for it.
    this.compensations.delete(plan.key);
    this.tombstone(plan.key);
    if (acknowledged) this.committing--;
    else this.ref.tell({ t: 'finished', key: plan.key, fingerprint: plan.fingerprint, outcome, reply }, true);
  }

  private onFinished(key: string, fingerprint: string, outcome: CheckoutOutcome, reply: ((r: CheckoutReply) => void) | null): void {
    if (outcome.retention === 'forget') this.entries.delete(key);
    else this.setDone(key, fingerprint, outcome.response);
    reply?.({ ...outcome.response, replayed: false });
  }

  private setDone(key: string, fingerprint: string, response: CheckoutResponse): void {
    this.deps.knownKeys.add(key);
    this.entries.set(key, { t: 'done', fingerprint, response });
    this.doneOrder.push(key);
    // Bounded memory: the oldest answers are evicted; durable ones are looked up again on a later replay.
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

function answerExisting(e: Exclude<Entry, { t: 'loading' }>, m: Submit): void {
  if (e.fingerprint !== m.fingerprint) {
    m.reply({ statusCode: 422, body: errorBody('IDEMPOTENCY_KEY_REUSED'), replayed: false });
  } else if (e.t === 'running') {
    m.reply({ statusCode: 409, body: errorBody('IDEMPOTENCY_KEY_IN_USE'), replayed: false });
  } else {
    m.reply({ ...e.response, replayed: true });
  }
}

function partitionLeft(partition: number): CheckoutReply {
  return { statusCode: 503, body: errorBody('PARTITION_UNAVAILABLE', { partition, reason: 'the partition moved; retry with the same Idempotency-Key' }), replayed: false };
}
