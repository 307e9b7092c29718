import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { replayJournal } from '../../../src/actors/recovery.js';
import type { CheckoutPlan } from '../../../src/domain/checkout.js';
import { rejected, renderCheckoutResult } from '../../../src/domain/checkout-result.js';
import { errorBody } from '../../../src/errors.js';
import type { JournalEntry } from '../../../src/persistence/journal.js';

const log = pino({ level: 'silent' });
const plan = { key: 'k1', fingerprint: 'fp', checkoutId: 'co_1', orderId: 'ord_1', lines: [{ sku: 'A', qty: 1 }] } as unknown as CheckoutPlan;
const row = (seq: number, entity: string, event: unknown): JournalEntry => ({ partition: 0, seq, epoch: 1, entity, event });

describe('recovery of checkout sagas from the journal', () => {
  it('resumes a journaled compensation as the rejection it compensates for', () => {
    const rejection = rejected('HOLD_EXPIRED', 'durable', { skus: ['A'] });
    const outcome = { response: renderCheckoutResult(rejection), retention: 'durable' };
    const state = replayJournal([], [row(1, 'co:k1', { t: 'started', plan }), row(2, 'co:k1', { t: 'compensating', rejection, outcome, authId: 'pi_1' })], log);
    expect(state.unfinished).toEqual([{ plan, compensating: { rejection, authId: 'pi_1' }, lastSeq: 2 }]);
  });

  it('reads a compensation journaled by an earlier version (its rendered answer) back to the same answer', () => {
    const response = { statusCode: 402, body: errorBody('PAYMENT_DECLINED', { declineCode: 'card_declined' }, 'Your card was declined.') };
    const state = replayJournal([], [row(1, 'co:k1', { t: 'started', plan }), row(2, 'co:k1', { t: 'compensating', outcome: { response, retention: 'durable' }, authId: null })], log);
    const compensating = state.unfinished[0]!.compensating!;
    expect(compensating.rejection).toMatchObject({ t: 'rejected', code: 'PAYMENT_DECLINED', retention: 'durable' });
    // What the saga stores and answers from the recovered rejection is byte for byte what the old version rendered.
    expect(JSON.stringify(renderCheckoutResult(compensating.rejection))).toBe(JSON.stringify(response));
  });

  it('resumes only sagas without an end: a finished event or a tombstone snapshot ends one, unknown entities are skipped', () => {
    const k3 = { ...plan, key: 'k3' };
    const state = replayJournal(
      [{ partition: 0, entity: 'co:k2', seq: 5, epoch: 1, state: { finished: true } }],
      [row(1, 'co:k1', { t: 'started', plan }), row(2, 'co:k1', { t: 'finished', statusCode: 201 }), row(6, 'co:k3', { t: 'started', plan: k3 }), row(7, 'other:x', {})],
      log,
    );
    expect(state.unfinished).toEqual([{ plan: k3, compensating: null, lastSeq: 6 }]);
  });
});
