import { describe, expect, it } from 'vitest';
import type * as uWS from 'uWebSockets.js';
import { openStream } from '../../../src/http/response-stream.js';
import type { StreamSink } from '../../../src/http/request.js';
import { limits } from '../../../src/config/limits.js';
import { DashboardFeed } from '../../../src/dashboard/dashboard-feed.js';
import type { DashboardSnapshots } from '../../../src/dashboard/dashboard-snapshot.js';

/** Enough of a uWS response to watch a stream: what was written, and the callbacks uWS would call. */
function fakeResponse(writable: () => boolean) {
  const r = {
    head: [] as string[],
    body: [] as string[],
    ended: false,
    onAbortedFn: undefined as (() => void) | undefined,
    onWritableFn: undefined as ((offset: number) => boolean) | undefined,
    writeStatus: (s: string) => (r.head.push(s), r),
    writeHeader: (k: string, v: string) => (r.head.push(`${k}: ${v}`), r),
    write: (c: string) => (r.body.push(c), writable()),
    end: () => ((r.ended = true), r),
    closed: false,
    close: () => ((r.closed = true), r),
    cork: (fn: () => void) => (fn(), r),
    onAborted: (fn: () => void) => ((r.onAbortedFn = fn), r),
    onWritable: (fn: (offset: number) => boolean) => ((r.onWritableFn = fn), r),
  };
  return r;
}

describe('a streamed response', () => {
  it('writes the head, then chunks, and ends when the producer ends it', () => {
    const res = fakeResponse(() => true);
    let sink: StreamSink | undefined;
    openStream(res as unknown as uWS.HttpResponse, { status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' } }, (s) => {
      sink = s;
      s.write('first');
      return () => undefined;
    }, true);
    expect(res.head).toEqual(['200 OK', 'cache-control: no-store', 'content-type: text/event-stream']);
    expect(sink!.write('second')).toBe(true);
    sink!.end();
    expect(res.ended).toBe(true);
    expect(sink!.write('after the end')).toBe(false);
    expect(res.body).toEqual(['first', 'second']);
  });

  it('drops chunks while the client is slow, and sends again once uWS says it drained', () => {
    let drained = false;
    const res = fakeResponse(() => drained);
    let sink: StreamSink | undefined;
    openStream(res as unknown as uWS.HttpResponse, { status: 200 }, (s) => ((sink = s), () => undefined), false);
    expect(sink!.write('buffered by uWS')).toBe(true);
    expect(sink!.write('dropped')).toBe(false);
    expect(sink!.write('dropped too')).toBe(false);
    drained = true;
    expect(res.onWritableFn!(0)).toBe(true);
    expect(sink!.write('sent')).toBe(true);
    expect(res.body).toEqual(['buffered by uWS', 'sent']);
  });

  it('stops the producer when the client goes away, and never touches the response again', () => {
    const res = fakeResponse(() => true);
    let stopped = 0;
    let sink: StreamSink | undefined;
    openStream(res as unknown as uWS.HttpResponse, { status: 200 }, (s) => ((sink = s), () => void stopped++), true);
    res.onAbortedFn!();
    res.onAbortedFn!();
    expect(stopped).toBe(1);
    expect(sink!.write('late')).toBe(false);
    sink!.end();
    expect(res.ended).toBe(false);
    expect(res.body).toEqual([]);
  });

  it(`cuts a client that has not read for ${limits.streamDroppedChunksMax} chunks in a row, and stops its producer`, () => {
    let drained = false;
    const res = fakeResponse(() => drained);
    let stopped = 0;
    let sink: StreamSink | undefined;
    openStream(res as unknown as uWS.HttpResponse, { status: 200 }, (s) => ((sink = s), () => void stopped++), false);
    expect(sink!.write('buffered by uWS')).toBe(true);
    // A drain in between resets the count: only drops in a row count.
    for (let i = 0; i < limits.streamDroppedChunksMax - 1; i++) expect(sink!.write('dropped')).toBe(false);
    drained = true;
    res.onWritableFn!(0);
    expect(sink!.write('sent')).toBe(true);
    drained = false;
    expect(sink!.write('buffered again')).toBe(true);
    for (let i = 0; i < limits.streamDroppedChunksMax - 1; i++) sink!.write('dropped');
    expect([res.closed, stopped]).toEqual([false, 0]);
    sink!.write('one too many');
    expect([res.closed, stopped]).toEqual([true, 1]);
    res.onAbortedFn!();
    expect(stopped).toBe(1);
    expect(sink!.write('after the cut')).toBe(false);
  });

  it('frees the feed slot of a producer that throws while starting, and writes nothing after', () => {
    const feed = new DashboardFeed({ get: () => new Promise<never>(() => undefined) } as unknown as DashboardSnapshots);
    const res = fakeResponse(() => true);
    res.write = () => {
      throw new Error('uWS: response already aborted');
    };
    let sink: StreamSink | undefined;
    const start = (s: StreamSink) => ((sink = s), feed.start(s));
    expect(() => openStream(res as unknown as uWS.HttpResponse, { status: 200 }, start, true)).toThrow('already aborted');
    expect(sink!.write('late')).toBe(false);
    res.onAbortedFn!();
    expect(feed.open()).toBe(0);
    feed.close();
  });
});
