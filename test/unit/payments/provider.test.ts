import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PaymentTimeoutError, withTimeout } from '../../../src/payments/provider.js';
import { mulberry32 } from '../../../src/payments/mulberry32.js';
import { SimulatedClock } from '../../../src/clock.js';

describe('withTimeout', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves with the value of a call that answers in time and clears its timer', async () => {
    const result = withTimeout(Promise.resolve('ok'), 1_000);
    await expect(result).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('passes on the rejection of a call that fails in time', async () => {
    const failure = new Error('boom');
    await expect(withTimeout(Promise.reject(failure), 1_000)).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with PaymentTimeoutError when the call does not answer in time', async () => {
    const result = withTimeout(new Promise<never>(() => undefined), 1_000);
    const assertion = expect(result).rejects.toBeInstanceOf(PaymentTimeoutError);
    await vi.advanceTimersByTimeAsync(1_000);
    await assertion;
  });

  it('ignores a late rejection after the deadline instead of leaking an unhandled rejection', async () => {
    let rejectLate: (err: Error) => void = () => undefined;
    const late = new Promise<never>((_resolve, reject) => {
      rejectLate = reject;
    });
    const assertion = expect(withTimeout(late, 10)).rejects.toBeInstanceOf(PaymentTimeoutError);
    await vi.advanceTimersByTimeAsync(10);
    await assertion;
    rejectLate(new Error('late'));
    await vi.advanceTimersByTimeAsync(0);
  });

  it('does not keep the process alive while it waits', () => {
    vi.useRealTimers();
    const unref = vi.fn();
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((..._args: unknown[]) => ({ unref })) as never);
    try {
      void withTimeout(new Promise<never>(() => undefined), 1_000);
      expect(unref).toHaveBeenCalledOnce();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('PaymentTimeoutError', () => {
  it('is an Error named PaymentTimeoutError that says the outcome is unknown', () => {
    const err = new PaymentTimeoutError();
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('PaymentTimeoutError');
    expect(err.message).toMatch(/unknown/);
  });
});

describe('mulberry32', () => {
  it('gives the same sequence for the same seed, in [0, 1)', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mulberry32(8)()).not.toBe(xs[0]);
  });
});

describe('withTimeout on an injected clock', () => {
  it('times out only when the clock passes the deadline, so a seeded simulation decides when', async () => {
    const clock = new SimulatedClock();
    let settled: unknown = null;
    void withTimeout(new Promise<never>(() => undefined), 1_000, clock).catch((err: unknown) => (settled = err));
    clock.advance(999);
    await Promise.resolve();
    expect(settled).toBeNull();
    clock.advance(1);
    await vi.waitFor(() => expect(settled).toBeInstanceOf(PaymentTimeoutError));
  });
});
