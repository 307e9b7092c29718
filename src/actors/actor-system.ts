import { actorLimits } from '../config/limits.js';
import assert from 'node:assert/strict';
import * as nact from 'nact';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * The only module that imports nact (NACT.md pitfall 9: its typings are loose). The rest of the code sees typed
 * refs. Rules we enforce here, each from a measured pitfall:
 * - every actor is named (unnamed actors collide after ~20k-90k spawns);
 * - actors are spawned under the system root, which receives no traffic, so no busy actor has children;
 * - `query` is never used; replies travel as callbacks inside messages (our own correlation);
 * - mailboxes are bounded by counting what is queued (nact's are unbounded and dispatch returns nothing);
 * - a handler that throws is a bug: it is logged and the actor resumes with its previous state instead of
 *   silently dropping its mailbox (pitfall 5).
 */
export interface ActorRef<M> {
  readonly name: string;
  /** Messages dispatched and not yet handled. */
  queued(): number;
  /** Queues a message unless `mailboxMax` messages are already queued (or `force`); returns false when refused. */
  tell(msg: M, force?: boolean): boolean;
  stop(): void;
}

export interface ActorSystem {
  spawn<S, M>(spec: ActorSpec<S, M>): ActorRef<M>;
  /** The deepest mailbox per kind of actor: the part of its name before the first ':' (`sku`, `checkouts`). */
  mailboxDepths(): Map<string, number>;
  stop(): void;
}

export interface ActorSpec<S, M> {
  name: string;
  initialState: S;
  mailboxMax: number;
  /** Synchronous by design: decide, start effects, return the next state. Never spans an await. */
  handle: (state: S, msg: M, self: ActorRef<M>) => S;
  onBug: (err: unknown, msg: M) => void;
  /** Told how long each message waited in the mailbox, in seconds (metrics). */
  onQueueWait?: (seconds: number) => void;
}

const drainSignal = Symbol('drain');

export function startActorSystem(name: string): ActorSystem {
  const root = nact.start({ name } as never) as nact.ActorSystemRef;
  const names = new Set<string>();
  const live = new Set<ActorRef<unknown>>();
  return {
    mailboxDepths() {
      const deepest = new Map<string, number>();
      for (const ref of live) {
        const colon = ref.name.indexOf(':');
        const kind = colon < 0 ? ref.name : ref.name.slice(0, colon);
        deepest.set(kind, Math.max(deepest.get(kind) ?? 0, ref.queued()));
      }
      return deepest;
    },
    spawn<S, M>(spec: ActorSpec<S, M>): ActorRef<M> {
      assert.ok(spec.name.length > 0, 'actors are always named');
      assert.ok(!names.has(spec.name), `actor ${spec.name} already exists`);
      names.add(spec.name);
      // Our own mailbox in front of nact's: nact runs one message per event-loop turn (its own setImmediate each),
      // which caps a hot actor at the loop's turn rate under load. A tell queues the message and, when the actor is
      // not already scheduled, dispatches one "drain" to nact; the drain handles up to drainBatchMax messages in
      // order in one turn. Still one nact actor, one writer, arrival order.
      const mailbox: { msg: M; atMs: number }[] = [];
      let head = 0;
      let scheduled = false;
      let stopped = false;
      const queued = () => mailbox.length - head;
      const schedule = () => {
        scheduled = true;
        nact.dispatch(ref, drainSignal);
      };
      // `self` is created before the nact actor so the handler can hand it to effects.
      const self: ActorRef<M> = {
        name: spec.name,
        queued,
        tell(msg: M, force = false): boolean {
          // A stopped actor would drop the message silently (nact): refuse it instead, so the caller knows.
          if (stopped || (queued() >= spec.mailboxMax && !force)) return false;
          mailbox.push({ msg, atMs: performance.now() });
          if (!scheduled) schedule();
          return true;
        },
        stop() {
          stopped = true;
          names.delete(spec.name);
          live.delete(self as ActorRef<unknown>);
          nact.stop(ref);
        },
      };
      const drain = (state: S): S => {
        scheduled = false;
        let next = state;
        const end = Math.min(mailbox.length, head + actorLimits.drainBatchMax);
        while (head < end && !stopped) {
          const envelope = mailbox[head]!;
          mailbox[head++] = undefined as never;
          spec.onQueueWait?.((performance.now() - envelope.atMs) / 1000);
          try {
            next = spec.handle(next, envelope.msg, self);
          } catch (err) {
            spec.onBug(err, envelope.msg);
          }
        }
        if (head === mailbox.length) {
          mailbox.length = 0;
          head = 0;
        } else {
          // A mailbox that never empties drops its handled front now and then, so it cannot grow without bound.
          if (head > actorLimits.drainBatchMax * 16) {
            mailbox.splice(0, head);
            head = 0;
          }
          if (!stopped && !scheduled) schedule();
        }
        return next;
      };
      const ref = nact.spawn(
        root,
        // nact runs a drain in the async context of whichever tell woke the actor (its dispatch's setImmediate), so
        // messages from other requests, timers and recovery would run under that request's trace: each drain runs in
        // the root context instead (a message carries its own, when it has one). Without a context manager (tracing
        // off) the active context is always the root one: one call, no wrapper.
        (state: S) => (context.active() === ROOT_CONTEXT ? drain(state) : context.with(ROOT_CONTEXT, drain, undefined, state)),
        nactName(spec.name),
        { initialState: spec.initialState },
      ) as nact.Ref<typeof drainSignal>;
      live.add(self as ActorRef<unknown>);
      return self;
    },
    stop() {
      nact.stop(root);
    },
  };
}

/**
 * nact names allow only /^[a-z0-9-$_.+!*'(),]+$/i; our names carry ':' (and SKUs may too). '$' escapes every other
 * character as $xx (UTF-16 code unit in hex, 4 digits), and itself, so the mapping is one-to-one.
 */
function nactName(name: string): string {
  return name.replace(/[^a-zA-Z0-9\-_.+!*'(),]/g, (c) => `$${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
