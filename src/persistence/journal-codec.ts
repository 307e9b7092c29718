import { Packr } from 'msgpackr';

/**
 * Journal and snapshot payloads are msgpack. Records (`useRecords`) stay off: a record payload refers to structure
 * definitions held by the encoding process, and a journal row must decode on any node after any restart.
 */
const packr = new Packr({ useRecords: false });

export function encodePayload(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodePayload(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * Many payloads as ONE binary parameter plus their 1-based start offsets and lengths, for an INSERT … SELECT over
 * unnest(…) that cuts each row's payload out with `substring(<bytes> FROM start FOR length)`. A `bytea[]` parameter
 * travels as hex text (twice the bytes, and an escape per element on both sides); a Buffer parameter travels as
 * binary, so a batch costs the node and PostgreSQL half the bytes.
 */
export interface PackedPayloads {
  bytes: Buffer;
  starts: number[];
  lengths: number[];
}

export function packPayloads(payloads: readonly Uint8Array[]): PackedPayloads {
  const starts = new Array<number>(payloads.length);
  const lengths = new Array<number>(payloads.length);
  let at = 1;
  for (let i = 0; i < payloads.length; i++) {
    const n = payloads[i]!.byteLength;
    starts[i] = at;
    lengths[i] = n;
    at += n;
  }
  return { bytes: Buffer.concat(payloads as Uint8Array[], at - 1), starts, lengths };
}
