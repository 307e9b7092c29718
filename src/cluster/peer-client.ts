import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { settledWithin } from './deadline.js';
import { encodeFrame, FrameDecoder, frameKind, FrameSizeError, protocolVersion, ProtocolError, type Frame } from './frames.js';
import { helloMac, isNonce, macMatches, newNonce, welcomeMac } from './handshake.js';
import { TransportError, type TransportOutcome } from './transport-error.js';
import { transportLimits } from '../config/limits.js';

/**
 * One node's connection to one peer: request/response over a single TCP connection, matched by correlation ids from
 * our own counter (never random ids: NACT.md pitfall 2 shows what 32-bit random reply ids do under load).
 *
 * Link states: idle → connecting → up; a failed attempt or a dropped connection → backoff → connecting … until
 * close(). The client reconnects on its own, with exponential backoff and jitter, so the link is warm before the
 * next forward. Requests made while connecting wait for the connection (bounded by their own timeout); requests
 * made in backoff fail at once with PEER_UNAVAILABLE, because the link is known to be down and the caller is better
 * served by a fast retryable error than by a wait as long as the backoff.
 */

export interface PeerClientOptions {
  /** Our node id, sent in HELLO; the peer's handler sees it as `from`. */
  selfId: string;
  /** CLUSTER_SECRET: the key of the handshake's MACs (handshake.ts). */
  secret: string;
  peerId: string;
  host: string;
  port: number;
  requestsInFlightMax?: number;
  frameBytesMax?: number;
  connectTimeoutMs?: number;
  reconnectDelayMsBase?: number;
  reconnectDelayMsMax?: number;
  closeDrainMsMax?: number;
  /** Jitter source, numbers in [0, 1); inject a seeded one to replay a run. Default Math.random. */
  rng?: () => number;
}

/** One connection's handshake: our nonce, the server's once its CHALLENGE came, and whether it is over. */
interface Handshake {
  nonce: Buffer;
  serverNonce: Buffer | null;
  done: boolean;
}

export type PeerLinkState = 'idle' | 'connecting' | 'up' | 'backoff' | 'closed';

export interface PeerClientEvents {
  up: [];
  down: [err: Error];
}

interface PendingRequest {
  /** The encoded frame while it waits for the connection; null once written. */
  frame: Buffer | null;
  resolve: (reply: unknown) => void;
  reject: (err: TransportError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): "equal jitter", half of the capped exponential delay plus a
 * random share of the other half, so many clients that lost one peer together do not redial in step, and none
 * redials sooner than half the nominal delay.
 */
export function reconnectDelayMs(attempt: number, rng: () => number, baseMs: number, maxMs: number): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return nominal / 2 + rng() * (nominal / 2);
}

export class PeerClient extends EventEmitter<PeerClientEvents> {
  readonly peerId: string;
  private linkState: PeerLinkState = 'idle';
  private socket: Socket | null = null;
  private readonly pending = new Map<number, PendingRequest>();
  /** Ids waiting for the connection, in request order (entries that timed out meanwhile are skipped). */
  private queued: number[] = [];
  private lastId = 0;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private corked = false;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  private late = 0;
  private readonly settings: Required<Omit<PeerClientOptions, 'selfId' | 'secret' | 'peerId' | 'host' | 'port'>>;

  constructor(private readonly opts: PeerClientOptions) {
    super();
    this.peerId = opts.peerId;
    this.settings = {
      requestsInFlightMax: opts.requestsInFlightMax ?? transportLimits.requestsInFlightPerPeerMax,
      frameBytesMax: opts.frameBytesMax ?? transportLimits.frameBytesMax,
      connectTimeoutMs: opts.connectTimeoutMs ?? transportLimits.connectTimeoutMs,
      reconnectDelayMsBase: opts.reconnectDelayMsBase ?? transportLimits.reconnectDelayMsBase,
      reconnectDelayMsMax: opts.reconnectDelayMsMax ?? transportLimits.reconnectDelayMsMax,
      closeDrainMsMax: opts.closeDrainMsMax ?? transportLimits.closeDrainMsMax,
      rng: opts.rng ?? Math.random,
    };
  }

  get state(): PeerLinkState {
    return this.linkState;
  }

  /** Requests sent or waiting for the connection, not yet answered, timed out or failed. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Replies that arrived after their request had timed out (and were dropped). */
  get lateReplies(): number {
    return this.late;
  }

  /** Starts connecting now instead of at the first request. */
  connect(): void {
    if (this.linkState === 'idle' && this.closing === null) this.dial();
  }

  /**
   * Sends `msg` and resolves with the peer's reply. Rejects with TransportError: IN_FLIGHT_LIMIT at once when
   * requestsInFlightMax requests are outstanding, PEER_UNAVAILABLE in backoff or when the connection attempt fails,
   * FRAME_TOO_LARGE / UNENCODABLE before sending, TIMEOUT after `timeoutMs`, CONNECTION_LOST when the connection drops
   * before the reply, REMOTE_ERROR when the peer answers with an error, CLOSED after close().
   */
  request(msg: unknown, timeoutMs: number): Promise<unknown> {
    if (!(timeoutMs > 0 && timeoutMs <= transportLimits.requestTimeoutMsMax)) {
      return Promise.reject(new RangeError(`timeoutMs must be in (0, ${transportLimits.requestTimeoutMsMax}], got ${timeoutMs}`));
    }
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    const id = (this.lastId = (this.lastId % (transportLimits.correlationIdsMax - 1)) + 1);
    let frame: Buffer;
    try {
      frame = encodeFrame([frameKind.request, id, msg], this.settings.frameBytesMax);
    } catch (err) {
      const code = err instanceof FrameSizeError ? 'FRAME_TOO_LARGE' : 'UNENCODABLE';
      return Promise.reject(new TransportError(code, 'not-delivered', (err as Error).message));
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => this.onTimeout(id, timeoutMs), timeoutMs);
      const up = this.linkState === 'up';
      this.pending.set(id, { frame: up ? null : frame, resolve, reject, timer });
      if (up) this.write(frame);
      else {
        this.queued.push(id);
        if (this.linkState === 'idle') this.dial();
      }
    });
  }

  /**
   * Graceful close: stops reconnecting, fails requests still waiting for a connection (CLOSED, not delivered), waits
   * up to closeDrainMsMax for the replies of sent requests, then ends the connection. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private refusal(): TransportError | null {
    if (this.closing !== null) return new TransportError('CLOSED', 'not-delivered', `client of ${this.peerId} is closed`);
    if (this.pending.size >= this.settings.requestsInFlightMax) {
      return new TransportError('IN_FLIGHT_LIMIT', 'not-delivered', `${this.settings.requestsInFlightMax} requests already in flight to ${this.peerId}`);
    }
    if (this.linkState === 'backoff') return new TransportError('PEER_UNAVAILABLE', 'not-delivered', `no connection to ${this.peerId}`);
    return null;
  }

  private async shutdown(): Promise<void> {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.failPending((sent) => (sent ? null : new TransportError('CLOSED', 'not-delivered', `client of ${this.peerId} closed`)));
    if (this.pending.size > 0) {
      await settledWithin(new Promise<void>((resolve) => (this.drained = resolve)), this.settings.closeDrainMsMax);
      this.failPending(() => new TransportError('CLOSED', 'unknown', `client of ${this.peerId} closed before the reply`));
    }
    const socket = this.socket;
    if (socket !== null) {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      if (this.linkState === 'up') socket.end();
      else socket.destroy();
      if (!(await settledWithin(closed, transportLimits.closeLingerMs))) socket.destroy();
      await closed;
    }
    this.linkState = 'closed';
  }

  private dial(): void {
    this.linkState = 'connecting';
    const socket = createConnection({ host: this.opts.host, port: this.opts.port, noDelay: true });
    this.socket = socket;
    const decoder = new FrameDecoder(transportLimits.handshakeFrameBytesMax);
    const connectTimer = setTimeout(() => socket.destroy(new Error(`connect timeout to ${this.peerId}`)), this.settings.connectTimeoutMs);
    let wasUp = false;
    let lastError: Error = new Error(`connection to ${this.peerId} closed`);
    // Connected is not up: the link is up once the handshake proved both sides know the secret (within the timeout).
    const handshake: Handshake = { nonce: newNonce(), serverNonce: null, done: false };
    const up = () => {
      clearTimeout(connectTimer);
      handshake.done = true;
      wasUp = true;
      decoder.limit(this.settings.frameBytesMax);
      this.onUp();
    };
    socket.on('data', (chunk: Buffer) => (handshake.done ? this.onData(socket, decoder, chunk) : this.onHandshake(socket, decoder, chunk, handshake, up)));
    socket.on('error', (err) => (lastError = err));
    socket.once('close', () => {
      clearTimeout(connectTimer);
      this.onSocketClosed(wasUp, lastError);
    });
  }

  /**
   * The handshake from the client's side: answer the server's CHALLENGE with our HELLO, then accept only a WELCOME
   * whose MAC proves the secret and names the node we dialed. Anything else closes the connection (the link goes to
   * backoff and redials; requests waiting for it get PEER_UNAVAILABLE when it was never up).
   */
  private onHandshake(socket: Socket, decoder: FrameDecoder, chunk: Buffer, hs: Handshake, up: () => void): void {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      socket.destroy(err as Error);
      return;
    }
    for (const [i, frame] of frames.entries()) {
      if (frame[0] === frameKind.challenge && hs.serverNonce === null && isNonce(frame[1])) {
        hs.serverNonce = Buffer.from(frame[1]);
        const mac = helloMac(this.opts.secret, hs.serverNonce, hs.nonce, this.opts.selfId, this.peerId);
        socket.write(encodeFrame([frameKind.hello, this.opts.selfId, protocolVersion, hs.nonce, mac], transportLimits.handshakeFrameBytesMax));
        continue;
      }
      const proof = hs.serverNonce && welcomeMac(this.opts.secret, hs.nonce, hs.serverNonce, this.opts.selfId, this.peerId);
      if (frame[0] === frameKind.welcome && proof && frame[1] === this.peerId && macMatches(frame[2], proof)) {
        up();
        // Frames that came with the WELCOME belong to the authenticated link.
        for (const rest of frames.slice(i + 1)) this.onFrames(socket, [rest]);
        return;
      }
      socket.destroy(new ProtocolError(`${this.peerId} did not prove the cluster secret (got frame kind ${frame[0]})`));
      return;
    }
  }

  private onUp(): void {
    this.linkState = 'up';
    this.attempt = 0;
    const queued = this.queued;
    this.queued = [];
    for (const id of queued) {
      const p = this.pending.get(id);
      if (p === undefined || p.frame === null) continue;
      this.write(p.frame);
      p.frame = null;
    }
    this.emit('up');
  }

  private onSocketClosed(wasUp: boolean, err: Error): void {
    this.socket = null;
    this.queued = [];
    this.failPending((sent) =>
      sent
        ? new TransportError('CONNECTION_LOST', 'unknown', `connection to ${this.peerId} lost before the reply: ${err.message}`)
        : new TransportError('PEER_UNAVAILABLE', 'not-delivered', `cannot connect to ${this.peerId}: ${err.message}`),
    );
    if (this.closing !== null) {
      if (wasUp) this.emit('down', err);
      return;
    }
    // The state changes before 'down' is emitted, so a listener already sees the link in backoff.
    this.linkState = 'backoff';
    if (wasUp) this.emit('down', err);
    const delay = reconnectDelayMs(this.attempt++, this.settings.rng, this.settings.reconnectDelayMsBase, this.settings.reconnectDelayMsMax);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.dial();
    }, delay);
  }

  private onData(socket: Socket, decoder: FrameDecoder, chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      socket.destroy(err as Error);
      return;
    }
    this.onFrames(socket, frames);
  }

  private onFrames(socket: Socket, frames: Frame[]): void {
    for (const frame of frames) {
      if (frame[0] === frameKind.reply) this.settle(frame[1], (p) => p.resolve(frame[2]));
      else if (frame[0] === frameKind.error) this.settle(frame[1], (p) => p.reject(TransportError.remote(frame[2], frame[3])));
      else {
        socket.destroy(new ProtocolError(`a server may only send replies, got kind ${frame[0]}`));
        return;
      }
    }
  }

  private settle(id: number, fn: (p: PendingRequest) => void): void {
    const p = this.pending.get(id);
    if (p === undefined) {
      this.late++;
      return;
    }
    this.forget(id, p);
    fn(p);
  }

  private onTimeout(id: number, timeoutMs: number): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.forget(id, p);
    const outcome: TransportOutcome = p.frame === null ? 'unknown' : 'not-delivered';
    p.reject(new TransportError('TIMEOUT', outcome, `no reply from ${this.peerId} within ${timeoutMs} ms`));
  }

  /** Rejects every pending request for which `errorFor(sent)` gives an error; keeps the others. */
  private failPending(errorFor: (sent: boolean) => TransportError | null): void {
    for (const [id, p] of this.pending) {
      const err = errorFor(p.frame === null);
      if (err === null) continue;
      this.forget(id, p);
      p.reject(err);
    }
  }

  private forget(id: number, p: PendingRequest): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (this.pending.size === 0 && this.drained !== null) this.drained();
  }

  /** Writes of one event-loop turn go out together: cork now, uncork on the next tick. */
  private write(bytes: Buffer): void {
    const socket = this.socket;
    if (socket === null || socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    socket.write(bytes);
  }
}
