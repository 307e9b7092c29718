import { Packr } from 'msgpackr';

/**
 * The wire format between nodes: each frame is a 4-byte big-endian length followed by that many bytes of msgpack.
 * Records (`useRecords`) stay off: a record refers to structures the sending process defined earlier, which a
 * reconnected or restarted peer does not know.
 *
 * A frame body is one of these tuples (arrays, not objects: smaller, and the kind is checked first):
 *   [CHALLENGE, serverNonce]                          the first frame a server sends on a connection
 *   [HELLO, nodeId, protocolVersion, nonce, mac]      the client's answer (handshake.ts)
 *   [WELCOME, serverId, mac]                          the server's proof; only then does the client send requests
 *   [REQUEST, id, message]
 *   [REPLY, id, reply]
 *   [ERROR, id, code, text]            the request failed on the server (handler threw, overload, shutdown)
 */
export const frameKind = { hello: 0, request: 1, reply: 2, error: 3, challenge: 4, welcome: 5 } as const;
/** 2: connections are authenticated (CHALLENGE, HELLO with a MAC, WELCOME); a version-1 peer is refused. */
export const protocolVersion = 2;
export const frameHeaderBytes = 4;

export type Frame =
  | readonly [typeof frameKind.challenge, Uint8Array]
  | readonly [typeof frameKind.hello, string, number, Uint8Array, Uint8Array]
  | readonly [typeof frameKind.welcome, string, Uint8Array]
  | readonly [typeof frameKind.request, number, unknown]
  | readonly [typeof frameKind.reply, number, unknown]
  | readonly [typeof frameKind.error, number, string, string];

const packr = new Packr({ useRecords: false });

/** Thrown when a frame (outgoing or announced by an incoming header) exceeds the limit. */
export class FrameSizeError extends Error {
  constructor(
    readonly bytes: number,
    readonly bytesMax: number,
  ) {
    super(`frame of ${bytes} bytes exceeds the limit of ${bytesMax}`);
    this.name = 'FrameSizeError';
  }
}

/** Thrown when incoming bytes are not a frame we understand; the connection is then closed. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Header plus body in one buffer, so a frame is one write. Throws FrameSizeError when the body is too large. */
export function encodeFrame(frame: Frame, bodyBytesMax: number): Buffer {
  const body = packr.pack(frame);
  if (body.length > bodyBytesMax) throw new FrameSizeError(body.length, bodyBytesMax);
  const out = Buffer.allocUnsafe(frameHeaderBytes + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, frameHeaderBytes);
  return out;
}

/**
 * Splits a byte stream into frames. Chunks are kept as they arrive and joined only once a whole frame is there,
 * so a large frame arriving in many small chunks is copied once, not once per chunk. An announced length over the
 * limit throws at once (before its bytes arrive): the caller closes the connection rather than buffer it.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private bodyBytesMax: number) {}

  /** Changes the largest frame accepted from now on (small until a connection is authenticated). */
  limit(bodyBytesMax: number): void {
    this.bodyBytesMax = bodyBytesMax;
  }

  /** Feeds a chunk; returns the frames it completed, in order. Throws FrameSizeError or ProtocolError. */
  push(chunk: Buffer): Frame[] {
    this.feed(chunk);
    const frames: Frame[] = [];
    for (let frame = this.next(); frame !== null; frame = this.next()) frames.push(frame);
    return frames;
  }

  /** Buffers a chunk; `next` takes the frames out one at a time (so a limit change applies from the next frame). */
  feed(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole frame, or null until more bytes come. Throws FrameSizeError or ProtocolError. */
  next(): Frame | null {
    if (this.buffered < frameHeaderBytes) return null;
    const length = this.contiguous(frameHeaderBytes).readUInt32BE(0);
    if (length > this.bodyBytesMax) throw new FrameSizeError(length, this.bodyBytesMax);
    if (this.buffered < frameHeaderBytes + length) return null;
    const all = this.contiguous(frameHeaderBytes + length);
    const frame = decodeBody(all.subarray(frameHeaderBytes, frameHeaderBytes + length));
    const rest = all.subarray(frameHeaderBytes + length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }

  /** Makes the first chunk at least `bytes` long (joins chunks when needed) and returns it. */
  private contiguous(bytes: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= bytes) return first;
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined;
  }
}

function decodeBody(body: Buffer): Frame {
  let value: unknown;
  try {
    value = packr.unpack(body);
  } catch (err) {
    throw new ProtocolError(`undecodable frame: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw new ProtocolError('a frame must be an array');
  const [kind, a, b, c, d] = value as unknown[];
  switch (kind) {
    case frameKind.challenge:
      if (a instanceof Uint8Array) return [frameKind.challenge, a];
      break;
    case frameKind.hello:
      if (typeof a === 'string' && typeof b === 'number' && c instanceof Uint8Array && d instanceof Uint8Array) return [frameKind.hello, a, b, c, d];
      break;
    case frameKind.welcome:
      if (typeof a === 'string' && b instanceof Uint8Array) return [frameKind.welcome, a, b];
      break;
    case frameKind.request:
    case frameKind.reply:
      if (isId(a)) return [kind, a, b];
      break;
    case frameKind.error:
      if (isId(a) && typeof b === 'string' && typeof c === 'string') return [frameKind.error, a, b, c];
      break;
  }
  throw new ProtocolError(`malformed frame of kind ${String(kind)}`);
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
