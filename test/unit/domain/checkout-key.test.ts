import { describe, expect, it } from 'vitest';
import { decideKey, type KeyEntry, type KeyMessage } from '../../../src/domain/checkout-key.js';
import { rejected, type CheckoutOutcome } from '../../../src/domain/checkout-result.js';

/** A submission as the table sees it: a fingerprint, plus a name so replies can be matched to their client. */
interface Sub {
  fingerprint: string;
  name: string;
}

const sub = (name: string, fingerprint = 'fpA'): Sub => ({ name, fingerprint });
const confirmedOutcome: CheckoutOutcome = { t: 'confirmed', orderId: 'ord_1', totals: { currency: 'USD', subtotalMinor: 1, discountMinor: 0, shippingMinor: 0, taxMinor: 0, totalMinor: 1 } };
const stored = { statusCode: 201, body: { orderId: 'ord_0', status: 'confirmed' } };
const running: KeyEntry<Sub> = { t: 'running', fingerprint: 'fpA' };
const done: KeyEntry<Sub> = { t: 'done', fingerprint: 'fpA', outcome: confirmedOutcome };
const loading = (...waiters: Sub[]): KeyEntry<Sub> => ({ t: 'loading', waiters });

/** The replies of a decision as `name: answer`, where an answer is a refusal code, an outcome kind, or `replay:<kind>`. */
function replies(d: ReturnType<typeof decideKey<Sub>>): string[] {
  return d.replies.map((r) => `${r.to.name}: ${r.replayed ? 'replay:' : ''}${r.result.t === 'refused' || r.result.t === 'rejected' ? r.result.code : r.result.t}`);
}

describe('the idempotency-key table', () => {
  it.each<[string, KeyEntry<Sub> | undefined, KeyMessage<Sub>, KeyEntry<Sub>['t'] | 'none', string[], string | null]>([
    ['a key never seen starts a checkout', undefined, { t: 'submit', submission: sub('a'), seenBefore: false }, 'running', [], 'start'],
    ['a key that may have been seen is looked up first', undefined, { t: 'submit', submission: sub('a'), seenBefore: true }, 'loading', [], 'lookup'],
    ['a duplicate during the lookup waits for it', loading(sub('a')), { t: 'submit', submission: sub('b'), seenBefore: true }, 'loading', [], null],
    ['a duplicate of a running checkout is told it is in use', running, { t: 'submit', submission: sub('b'), seenBefore: true }, 'running', ['b: IDEMPOTENCY_KEY_IN_USE'], null],
    ['another body under a running key is refused as a reuse', running, { t: 'submit', submission: sub('b', 'fpB'), seenBefore: true }, 'running', ['b: IDEMPOTENCY_KEY_REUSED'], null],
    ['a duplicate of an answered key is a replay', done, { t: 'submit', submission: sub('b'), seenBefore: true }, 'done', ['b: replay:confirmed'], null],
    ['another body under an answered key is refused as a reuse', done, { t: 'submit', submission: sub('b', 'fpB'), seenBefore: true }, 'done', ['b: IDEMPOTENCY_KEY_REUSED'], null],
    ['an answered record answers every waiter', loading(sub('a'), sub('b', 'fpB')), { t: 'loaded', record: { fingerprint: 'fpA', response: stored } }, 'done', ['a: replay:recorded', 'b: IDEMPOTENCY_KEY_REUSED'], null],
    ['a record without an answer refuses every waiter', loading(sub('a'), sub('b')), { t: 'loaded', record: { fingerprint: 'fpA', response: null } }, 'none', ['a: NOT_READY', 'b: NOT_READY'], null],
    ['no record starts the first waiter and holds the others off', loading(sub('a'), sub('b'), sub('c', 'fpB')), { t: 'loaded', record: null }, 'running', ['b: IDEMPOTENCY_KEY_IN_USE', 'c: IDEMPOTENCY_KEY_REUSED'], 'start'],
    ['a late lookup of a key no longer loading changes nothing', running, { t: 'loaded', record: null }, 'running', [], null],
    ['a resumed plan runs and holds the key', undefined, { t: 'resume', fingerprint: 'fpA', answered: false }, 'running', [], 'run'],
    ['a resumed plan of an answered key runs and keeps the answer', done, { t: 'resume', fingerprint: 'fpA', answered: true }, 'done', [], 'run'],
    ['a resumed plan whose answer was evicted from memory leaves the key to its stored record', undefined, { t: 'resume', fingerprint: 'fpA', answered: true }, 'none', [], 'run'],
    ['a resumed plan of an answered key being looked up lets the lookup answer the waiters', loading(sub('a')), { t: 'resume', fingerprint: 'fpA', answered: true }, 'loading', [], 'run'],
    ['a resume while a lookup is waiting answers the waiters against the running key', loading(sub('a')), { t: 'resume', fingerprint: 'fpA', answered: false }, 'running', ['a: IDEMPOTENCY_KEY_IN_USE'], 'run'],
    ['a durable outcome answers the client and the key', running, { t: 'finished', fingerprint: 'fpA', outcome: confirmedOutcome, client: sub('a') }, 'done', ['a: confirmed'], null],
    ['an outcome kept in memory answers the key too', undefined, { t: 'finished', fingerprint: 'fpA', outcome: rejected('OUT_OF_STOCK', 'memory'), client: null }, 'done', [], null],
    ['a forgotten outcome frees the key', running, { t: 'finished', fingerprint: 'fpA', outcome: rejected('PAYMENT_PROVIDER_ERROR', 'forget'), client: sub('a') }, 'none', ['a: PAYMENT_PROVIDER_ERROR'], null],
    ['an answered key keeps its first answer when a re-run finishes', done, { t: 'finished', fingerprint: 'fpA', outcome: { t: 'recorded', response: stored }, client: null }, 'done', [], null],
  ])('%s', (_name, entry, msg, after, expectedReplies, effect) => {
    const d = decideKey(entry, msg);
    expect(d.entry?.t ?? 'none').toBe(after);
    expect(replies(d)).toEqual(expectedReplies);
    expect(d.effect?.t ?? null).toBe(effect);
    if (d.effect?.t === 'start') expect(d.effect.submission.name).toBe(msg.t === 'submit' ? msg.submission.name : 'a');
    if (entry?.t === 'done' && after === 'done') expect(d.entry).toBe(entry);
  });
});
