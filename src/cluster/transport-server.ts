import { createServer, type Server, type Socket } from 'node:net';
import { settledWithin } from './deadline.js';
import { encodeFrame, FrameDecoder, frameKind, FrameSizeError, protocolVersion, ProtocolError, type Frame } from './frames.js';
import { helloMac, isNonce, macMatches, newNonce, welcomeMac } from './handshake.js';
import { remoteTransportCodes } from './transport-error.js';
import { membershipLimits, transportLimits } from '../config/limits.js';

/**
 * The server side of the node-to-node transport: accepts connections from peer clients, runs each request through
 * the handler and sends its reply with the request's correlation id. Replies go out as handlers finish, in any
 * order. A handler that throws becomes an error reply; the connection and the server carry on. Every connection
 * authenticates first (handshake.ts): until the peer's HELLO proves the shared secret, frames are small, nothing is
 * dispatched, and a peer that fails or stalls is closed (onAuthFailure).
 */

/** Handles one request from the node `from`; the resolved value is the reply. Expected failures should be values. */
export type RequestHandler = (msg: unknown, from: string) => Promise<unknown>;

export interface TransportServerOptions {
  /** This node's id, named in WELCOME (the client checks it dialed the node it meant). */
  selfId: string;
  /** CLUSTER_SECRET: the key of the handshake's MACs. */
  secret: string;
  host: string;
  /** 0 picks a free port; `server.port` tells which. */
  port: number;
  handler: RequestHandler;
  frameBytesMax?: number;
  requestsInFlightPerConnectionMax?: number;
  closeDrainMsMax?: number;
  /** Default transportLimits.handshakeTimeoutMs. */
  handshakeTimeoutMs?: number;
  /** Connection-level problems (protocol errors, oversize frames, socket errors), for logs. Default: ignored. */
  onConnectionError?: (err: Error, from: string | null) => void;
  /** A connection that failed the handshake (wrong secret, malformed, too slow), with its address. Default: ignored. */
  onAuthFailure?: (reason: string, remote: string) => void;
}

export interface TransportServer {
  readonly host: string;
  readonly port: number;
  connectionCount(): number;
  /**
   * Graceful close: stops accepting, answers new requests SHUTTING_DOWN, waits (up to closeDrainMsMax) for running
   * handlers so their replies go out, then ends every connection. Idempotent.
   */
  close(): Promise<void>;
}

interface ServerSettings {
  selfId: string;
  secret: string;
  handler: RequestHandler;
  frameBytesMax: number;
  inFlightMax: number;
  handshakeTimeoutMs: number;
  onConnectionError: (err: Error, from: string | null) => void;
  onAuthFailure: (reason: string, remote: string) => void;
}

export async function startTransportServer(opts: TransportServerOptions): Promise<TransportServer> {
  const settings: ServerSettings = {
    selfId: opts.selfId,
    secret: opts.secret,
    handler: opts.handler,
    frameBytesMax: opts.frameBytesMax ?? transportLimits.frameBytesMax,
    inFlightMax: opts.requestsInFlightPerConnectionMax ?? transportLimits.requestsInFlightPerConnectionMax,
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? transportLimits.handshakeTimeoutMs,
    onConnectionError: opts.onConnectionError ?? (() => {}),
    onAuthFailure: opts.onAuthFailure ?? (() => {}),
  };
  const closeDrainMs = opts.closeDrainMsMax ?? transportLimits.closeDrainMsMax;
  const connections = new Set<ServerConnection>();
  const server = createServer({ noDelay: true });
  server.on('connection', (socket) => {
    // A flood of connections that never authenticate holds at most this many sockets: the oldest waiting one makes
    // room. A real peer authenticates within a round trip, so a flood would have to outpace that to keep one out.
    const waiting = [...connections].filter((c) => !c.authenticated);
    if (waiting.length >= transportLimits.unauthenticatedConnectionsMax) waiting[0]!.evict('too many connections waiting to authenticate; the oldest was closed');
    const conn = new ServerConnection(socket, settings);
    connections.add(conn);
    void conn.closed.then(() => connections.delete(conn));
  });
  await listen(server, opts.host, opts.port);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('transport server has no TCP address');

  let closing: Promise<void> | null = null;
  return {
    host: opts.host,
    port: address.port,
    connectionCount: () => connections.size,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((c) => c.close(closeDrainMs)));
        await stopped;
      })();
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

class ServerConnection {
  readonly closed: Promise<void>;
  private readonly decoder: FrameDecoder;
  private peerId: string | null = null;
  private readonly nonce = newNonce();
  private readonly handshakeTimer: NodeJS.Timeout;
  private running = 0;
  private closing = false;
  private corked = false;
  private idle: (() => void) | null = null;

  get authenticated(): boolean {
    return this.peerId !== null;
  }

  constructor(
    private readonly socket: Socket,
    private readonly settings: ServerSettings,
  ) {
    // Until the peer is authenticated only handshake frames fit.
    this.decoder = new FrameDecoder(transportLimits.handshakeFrameBytesMax);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => settings.onConnectionError(err, this.peerId));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.handshakeTimer = setTimeout(() => this.refuse('no valid HELLO within the handshake timeout'), settings.handshakeTimeoutMs);
    void this.closed.then(() => clearTimeout(this.handshakeTimer));
    this.write(encodeFrame([frameKind.challenge, this.nonce], transportLimits.handshakeFrameBytesMax));
  }

  /** Stops taking requests, lets running handlers reply (bounded), then ends the connection. */
  async close(drainMs: number): Promise<void> {
    this.closing = true;
    if (this.running > 0) await settledWithin(new Promise<void>((resolve) => (this.idle = resolve)), drainMs);
    this.socket.end();
    if (!(await settledWithin(this.closed, transportLimits.closeLingerMs))) this.socket.destroy();
    await this.closed;
  }

  /** Frames one at a time: the HELLO that authenticates a connection lifts the frame limit for the next ones. */
  private onData(chunk: Buffer): void {
    this.decoder.feed(chunk);
    while (!this.socket.destroyed) {
      let frame: Frame | null;
      try {
        frame = this.decoder.next();
      } catch (err) {
        if (this.peerId === null) this.refuse((err as Error).message);
        else this.fail(err as Error);
        return;
      }
      if (frame === null) return;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Frame): void {
    if (this.peerId === null) return this.onHello(frame);

    if (frame[0] !== frameKind.request) {
      this.fail(new ProtocolError(`a client may only send requests, got kind ${frame[0]}`));
      return;
    }
    this.onRequest(frame[1], frame[2]);
  }

  /** The handshake's one client frame: a HELLO whose MAC proves the shared secret over our fresh nonce. */
  private onHello(frame: Frame): void {
    if (frame[0] !== frameKind.hello) return this.refuse(`the first frame must be HELLO, got kind ${frame[0]}`);
    const [, nodeId, version, clientNonce, mac] = frame;
    if (version !== protocolVersion) return this.refuse(`protocol version ${version}, expected ${protocolVersion}`);
    if (!membershipLimits.nodeIdPattern.test(nodeId) || !isNonce(clientNonce)) return this.refuse('malformed HELLO');
    const nonce = Buffer.from(clientNonce);
    if (!macMatches(mac, helloMac(this.settings.secret, this.nonce, nonce, nodeId, this.settings.selfId))) return this.refuse(`HELLO from ${nodeId} does not prove the cluster secret`);
    clearTimeout(this.handshakeTimer);
    this.peerId = nodeId;
    this.decoder.limit(this.settings.frameBytesMax);
    const proof = welcomeMac(this.settings.secret, nonce, this.nonce, nodeId, this.settings.selfId);
    this.write(encodeFrame([frameKind.welcome, this.settings.selfId, proof], transportLimits.handshakeFrameBytesMax));
  }

  /** A peer that failed the handshake gets nothing more: logged, counted, cut. */
  /** Closes a connection still waiting to authenticate, to make room for a newer one. */
  evict(reason: string): void {
    clearTimeout(this.handshakeTimer);
    this.refuse(reason);
  }

  private refuse(reason: string): void {
    if (this.socket.destroyed) return;
    this.settings.onAuthFailure(reason, `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`);
    this.socket.destroy();
  }

  private onRequest(id: number, msg: unknown): void {
    if (this.closing) return this.sendError(id, remoteTransportCodes.shuttingDown, 'the server is closing');
    if (this.running >= this.settings.inFlightMax) {
      return this.sendError(id, remoteTransportCodes.overloaded, `more than ${this.settings.inFlightMax} requests in flight`);
    }
    this.running++;
    const from = this.peerId!;
    // Promise.resolve().then: a handler that throws synchronously becomes an error reply like an async one.
    void Promise.resolve()
      .then(() => this.settings.handler(msg, from))
      .then(
        (reply) => this.sendReply(id, reply),
        (err: unknown) => this.sendError(id, errorCode(err), errorText(err)),
      )
      .finally(() => {
        this.running--;
        if (this.running === 0 && this.idle !== null) this.idle();
      });
  }

  private sendReply(id: number, reply: unknown): void {
    let bytes: Buffer;
    try {
      bytes = encodeFrame([frameKind.reply, id, reply], this.settings.frameBytesMax);
    } catch (err) {
      if (err instanceof FrameSizeError) return this.sendError(id, remoteTransportCodes.replyTooLarge, err.message);
      return this.sendError(id, remoteTransportCodes.replyUnencodable, errorText(err));
    }
    this.write(bytes);
  }

  private sendError(id: number, code: string, text: string): void {
    // Truncated so an error frame can never itself be oversize.
    this.write(encodeFrame([frameKind.error, id, code.slice(0, 200), text.slice(0, 2_000)], this.settings.frameBytesMax));
  }

  /** Writes of one event-loop turn go out together: cork now, uncork on the next tick. */
  private write(bytes: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes);
  }

  private fail(err: Error): void {
    this.settings.onConnectionError(err, this.peerId);
    this.socket.destroy();
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : remoteTransportCodes.handlerError;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
