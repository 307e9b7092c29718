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
