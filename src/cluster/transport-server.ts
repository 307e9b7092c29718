import { createServer, type Server, type Socket } from 'node:net';
import { settledWithin } from './deadline.js';
import { encodeFrame, FrameDecoder, frameKind, FrameSizeError, protocolVersion, ProtocolError, type Frame } from './frames.js';
import { remoteTransportCodes } from './transport-error.js';
import { transportLimits } from '../config/limits.js';

/**
 * The server side of the node-to-node transport: accepts connections from peer clients, runs each request through
 * the handler and sends its reply with the request's correlation id. Replies go out as handlers finish, in any
 * order. A handler that throws becomes an error reply; the connection and the server carry on.
 */

/** Handles one request from the node `from`; the resolved value is the reply. Expected failures should be values. */
export type RequestHandler = (msg: unknown, from: string) => Promise<unknown>;

export interface TransportServerOptions {
  host: string;
  /** 0 picks a free port; `server.port` tells which. */
  port: number;
  handler: RequestHandler;
  frameBytesMax?: number;
  requestsInFlightPerConnectionMax?: number;
  closeDrainMsMax?: number;
  /** Connection-level problems (protocol errors, oversize frames, socket errors), for logs. Default: ignored. */
  onConnectionError?: (err: Error, from: string | null) => void;
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
  handler: RequestHandler;
  frameBytesMax: number;
  inFlightMax: number;
  onConnectionError: (err: Error, from: string | null) => void;
}

export async function startTransportServer(opts: TransportServerOptions): Promise<TransportServer> {
  const settings: ServerSettings = {
    handler: opts.handler,
    frameBytesMax: opts.frameBytesMax ?? transportLimits.frameBytesMax,
    inFlightMax: opts.requestsInFlightPerConnectionMax ?? transportLimits.requestsInFlightPerConnectionMax,
    onConnectionError: opts.onConnectionError ?? (() => {}),
  };
  const closeDrainMs = opts.closeDrainMsMax ?? transportLimits.closeDrainMsMax;
  const connections = new Set<ServerConnection>();
  const server = createServer({ noDelay: true });
  server.on('connection', (socket) => {
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
  private running = 0;
  private closing = false;
  private corked = false;
  private idle: (() => void) | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly settings: ServerSettings,
  ) {
    this.decoder = new FrameDecoder(settings.frameBytesMax);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => settings.onConnectionError(err, this.peerId));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Stops taking requests, lets running handlers reply (bounded), then ends the connection. */
  async close(drainMs: number): Promise<void> {
    this.closing = true;
    if (this.running > 0) await settledWithin(new Promise<void>((resolve) => (this.idle = resolve)), drainMs);
    this.socket.end();
    if (!(await settledWithin(this.closed, transportLimits.closeLingerMs))) this.socket.destroy();
    await this.closed;
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    for (const frame of frames) {
      if (this.socket.destroyed) return;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Frame): void {
    if (this.peerId === null) {
      if (frame[0] === frameKind.hello && frame[2] === protocolVersion) this.peerId = frame[1];
      else this.fail(new ProtocolError('the first frame must be HELLO with protocol version ' + protocolVersion));
      return;
    }
    if (frame[0] !== frameKind.request) {
      this.fail(new ProtocolError(`a client may only send requests, got kind ${frame[0]}`));
      return;
    }
    this.onRequest(frame[1], frame[2]);
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
