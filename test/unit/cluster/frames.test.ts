import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, frameKind, FrameSizeError, ProtocolError, type Frame } from '../../../src/cluster/frames.js';
import { reconnectDelayMs } from '../../../src/cluster/peer-client.js';
import { Packr } from 'msgpackr';

const limit = 1024;

function rawFrame(value: unknown): Buffer {
  const body = new Packr({ useRecords: false }).pack(value);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

describe('frames', () => {
  const frames: Frame[] = [
    [frameKind.challenge, Buffer.alloc(32, 7)],
    [frameKind.hello, 'node-a', 2, Buffer.alloc(32, 1), Buffer.alloc(32, 2)],
    [frameKind.welcome, 'node-b', Buffer.alloc(32, 3)],
    [frameKind.request, 1, { sku: 'TSHIRT', qty: 2, bytes: Buffer.from([1, 2, 3]) }],
    [frameKind.reply, 1, ['ok', null, 12.5]],
    [frameKind.error, 7, 'OVERLOADED', 'too many'],
  ];

  // Binary values come back as Buffers (msgpackr's choice on Node), so the fixture uses one.
  it('decodes what it encodes, whatever the chunk boundaries', () => {
    const stream = Buffer.concat(frames.map((f) => encodeFrame(f, limit)));
    for (const chunkBytes of [1, 3, 7, stream.length]) {
      const decoder = new FrameDecoder(limit);
      const out: Frame[] = [];
      for (let i = 0; i < stream.length; i += chunkBytes) out.push(...decoder.push(stream.subarray(i, i + chunkBytes)));
      expect(out).toEqual(frames);
    }
  });

  it('refuses to encode a frame whose body exceeds the limit', () => {
    expect(() => encodeFrame([frameKind.request, 1, 'x'.repeat(limit)], limit)).toThrow(FrameSizeError);
  });

  it('rejects an oversize frame from its header alone, before the body arrives', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(limit + 1, 0);
    expect(() => new FrameDecoder(limit).push(head)).toThrow(FrameSizeError);
  });

  it.each([
    ['a body that is not msgpack', Buffer.from([0, 0, 0, 1, 0xc1])],
    ['a body that is not an array', rawFrame({ kind: 1 })],
    ['an unknown kind', rawFrame([9, 1, 'x'])],
    ['a request without a numeric id', rawFrame([frameKind.request, 'one', 'x'])],
    ['a negative id', rawFrame([frameKind.reply, -1, 'x'])],
    ['an error frame without a code', rawFrame([frameKind.error, 1])],
  ])('rejects %s as a protocol error', (_label, bytes) => {
    expect(() => new FrameDecoder(limit).push(bytes)).toThrow(ProtocolError);
  });
});

describe('reconnectDelayMs', () => {
  it('doubles per attempt up to the cap, with jitter between half and all of the nominal delay', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect(reconnectDelayMs(0, low, 50, 2_000)).toBe(25);
    expect(reconnectDelayMs(0, high, 50, 2_000)).toBeCloseTo(50, 3);
    expect(reconnectDelayMs(3, low, 50, 2_000)).toBe(200);
    expect(reconnectDelayMs(10, low, 50, 2_000)).toBe(1_000);
    expect(reconnectDelayMs(10, high, 50, 2_000)).toBeCloseTo(2_000, 1);
    expect(reconnectDelayMs(5_000, high, 50, 2_000)).toBeLessThanOrEqual(2_000);
  });
});
