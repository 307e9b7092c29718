import { context, createContextKey, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorRef } from '../../../src/actors/actor-system.js';
import { AlsContextManager } from '../../../src/telemetry/als-context-manager.js';

/**
 * Tracing on (the AsyncLocalStorage context manager registered, as tracing-sdk.ts does): a mailbox does not run its
 * messages in the context of the request whose tell woke it.
 */
const manager = new AlsContextManager();
context.setGlobalContextManager(manager);
afterAll(() => {
  context.disable();
});

const who = createContextKey('who');
const inCtx = (name: string): Context => ROOT_CONTEXT.setValue(who, name);

describe('an actor\'s handler, with a context manager registered', () => {
  it('runs every message in the root context, whichever context told it', async () => {
    const system = startActorSystem('ctx-test');
    const seen: { msg: string; who: unknown; root: boolean }[] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const ref: ActorRef<string> = system.spawn<number, string>({
      name: 'ctx:1',
      initialState: 0,
      mailboxMax: 10,
      handle: (n, msg) => {
        const active = context.active();
        seen.push({ msg, who: active.getValue(who), root: active === ROOT_CONTEXT });
        if (n + 1 === 4) done();
        return n + 1;
      },
      onBug: (err) => {
        throw err;
      },
    });
    try {
      // A wakes the actor; B and a root tell queue behind it, in the same drain.
      context.with(inCtx('A'), () => ref.tell('from A'));
      context.with(inCtx('B'), () => ref.tell('from B'));
      ref.tell('from root');
      // The context manager works: a tell's own context is A's.
      expect(context.with(inCtx('A'), () => context.active().getValue(who))).toBe('A');
      await new Promise<void>((resolve) => setImmediate(resolve));
      // A second drain, woken by B alone.
      context.with(inCtx('B'), () => ref.tell('from B again'));
      await all;
      expect(seen).toEqual([
        { msg: 'from A', who: undefined, root: true },
        { msg: 'from B', who: undefined, root: true },
        { msg: 'from root', who: undefined, root: true },
        { msg: 'from B again', who: undefined, root: true },
      ]);
    } finally {
      system.stop();
    }
  });
});
