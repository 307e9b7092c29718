import type { Logger } from 'pino';
import type * as uWS from 'uWebSockets.js';
import { wsLimits } from '../../config/limits.js';
import type { WsSettings } from '../../config/ws-settings.js';
import { errorResponse } from '../error-response.js';
import type { HttpResponse } from '../request.js';
import { writeResponse } from '../response-writer.js';
import { remoteAddressOf } from '../uws-request.js';
import type { CommandRunner } from './ws-commands.js';
import { wsCloseCodes, wsErrorFrame } from './ws-errors.js';
import { parseFrame, type RequestId } from './ws-frames.js';
import { SubscriptionIndex, type Subscriber } from './ws-subscriptions.js';

/** Where the topic hub (src/edge/topic-hub.ts) hands updates for this node's sockets: a frame serialized once. */
export interface TopicSink {
  /** To every subscriber of `topic`; with a ticket, only to the `drop:` subscribers that named it. */
  deliver(topic: string, ticket: string | null, frame: string): void;
}

/** Plain counters the server bumps and the metrics read when scraped (src/metrics.ts). */
export interface WsCounts {
  socketsOpen: number;
  framesIn: number;
  framesOut: number;
  /** Sockets the server closed, by reason: slow_reader, error_frames, frame_too_large, sockets_max, internal. */
  closedByServer: Map<string, number>;
}

export interface WsServerOptions {
  commands: CommandRunner;
  settings: WsSettings;
  log: Logger;
  counts: WsCounts;
  /** Open sockets on this node; default wsLimits.socketsMax (tests set fewer). */
  socketsMax?: number;
}

/** One socket's state: its uWS user data, valid (and `ws` set) from open to close. */
interface Conn extends Subscriber {
  ws: uWS.WebSocket<Conn> | null;
  readonly ip: string;
  commandsInFlight: number;
  /** Current-count reads of stock subscriptions not answered yet (a cluster forwards them to the owner). */
  readsInFlight: number;
  errorFrames: number;
  /** stock topics whose current count is being read: it goes out only if no update got there first. */
  readonly snapshotsDue: Set<string>;
}

/**
 * The WebSocket API at /ws (docs/websocket.md) on the HTTP server's uWS app. Every frame is answered on its socket:
 * subscriptions with `{ id, ok: true }`, commands with `{ id, status, body }` (run by the HTTP router), bad frames
 * with an error frame; updates from the topic hub go to the subscribers as `{ topic, data }`. Every send checks the
 * socket's buffered amount first: a reader that falls wsLimits.sendBufferBytesMax behind is closed (4001), so
 * nothing is ever buffered without bound, and a slow socket costs nobody else anything.
 */
export class WsServer implements TopicSink {
  private readonly subscriptions = new SubscriptionIndex<Conn>();
  private readonly conns = new Set<Conn>();
  private readonly perIp = new Map<string, number>();
  private closing = false;
  private readonly socketsMax: number;

  constructor(private readonly opts: WsServerOptions) {
    this.socketsMax = opts.socketsMax ?? wsLimits.socketsMax;
  }

  /** Registers /ws on the app (before its catch-all route). */
  mount(app: uWS.TemplatedApp): void {
    const s = this.opts.settings;
    app.ws<Conn>('/ws', {
      // Frames up to twice the limit are read and answered with a close 1009 (message); larger ones uWS cuts at once,
      // without a close frame (the client sees 1006). Either way nothing past the limit is parsed.
      maxPayloadLength: 2 * s.frameBytesMax,
      idleTimeout: s.idleTimeoutS,
      sendPingsAutomatically: true,
      // Our own check runs before every send (see send); uWS's bound sits above it so uWS never drops silently.
      maxBackpressure: s.sendBufferBytesMax + wsLimits.updateBytesMax + s.frameBytesMax,
      closeOnBackpressureLimit: 0,
      upgrade: (res, req, context) => this.guarded(() => this.upgrade(res, req, context), () => res.close()),
      open: (ws) => this.guarded(() => this.open(ws), () => ws.close()),
      message: (ws, message, isBinary) => this.guarded(() => this.message(ws.getUserData(), message, isBinary), () => this.drop(ws.getUserData(), 'internal', wsCloseCodes.internalError)),
      close: (ws) => this.guarded(() => this.closed(ws.getUserData()), () => undefined),
    });
  }

  deliver(topic: string, ticket: string | null, frame: string): void {
    const subscribers = ticket === null ? this.subscriptions.subscribers(topic) : this.subscriptions.ticketSubscribers(topic, ticket);
    if (subscribers === undefined) return;
    const bytes = Buffer.byteLength(frame);
    for (const conn of subscribers) {
      conn.snapshotsDue.delete(topic);
      this.send(conn, frame, bytes, true);
    }
  }

  /**
   * A bug here must not reach uWS (an exception thrown into it ends the process): it is logged and the connection
   * it happened on is closed (1011 for a socket), and every other socket goes on.
   */
  private guarded(fn: () => void, onBug: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log.error({ err }, 'the WebSocket server failed on a connection');
      try {
        onBug();
      } catch {
        // The connection is gone already.
      }
    }
  }

  /** Closes every socket with 1001 (the node is stopping); later upgrades are refused. */
  close(): void {
    this.closing = true;
    for (const conn of [...this.conns]) conn.ws?.end(wsCloseCodes.goingAway, 'server stopping');
  }

  sockets(): number {
    return this.conns.size;
  }

  private upgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const ip = remoteAddressOf(res);
    const refusal = this.admission(ip);
    if (refusal !== null) {
      writeResponse(res, refusal, JSON.stringify(refusal.body), true);
      return;
    }
    const conn: Conn = { ws: null, ip, topics: new Map(), commandsInFlight: 0, readsInFlight: 0, errorFrames: 0, snapshotsDue: new Set() };
    res.upgrade<Conn>(conn, key, protocol, extensions, context);
  }

  /** 429 OVERLOADED past the node's or the address's socket bound; 503 while the node stops. */
  private admission(ip: string): HttpResponse | null {
    if (this.closing) return errorResponse('NOT_READY');
    if (this.conns.size >= this.socketsMax) return errorResponse('OVERLOADED', { reason: 'too many WebSocket connections on this node', max: this.socketsMax });
    const mine = this.perIp.get(ip) ?? 0;
    if (mine >= this.opts.settings.socketsPerIpMax) return errorResponse('OVERLOADED', { reason: 'too many WebSocket connections from this address', max: this.opts.settings.socketsPerIpMax });
    return null;
  }

  private open(ws: uWS.WebSocket<Conn>): void {
    const conn = ws.getUserData();
    conn.ws = ws;
    this.conns.add(conn);
    this.perIp.set(conn.ip, (this.perIp.get(conn.ip) ?? 0) + 1);
    this.opts.counts.socketsOpen = this.conns.size;
    // Upgrades that raced past the check in upgrade(): the bound holds anyway.
    if (this.conns.size > this.socketsMax || this.perIp.get(conn.ip)! > this.opts.settings.socketsPerIpMax) this.drop(conn, 'sockets_max', wsCloseCodes.tryAgainLater);
  }

  private closed(conn: Conn): void {
    if (conn.ws === null) return;
    conn.ws = null;
    this.conns.delete(conn);
    const left = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (left === 0) this.perIp.delete(conn.ip);
    else this.perIp.set(conn.ip, left);
    this.subscriptions.removeAll(conn);
    conn.snapshotsDue.clear();
    this.opts.counts.socketsOpen = this.conns.size;
  }

  private message(conn: Conn, message: ArrayBuffer, isBinary: boolean): void {
    this.opts.counts.framesIn++;
    if (message.byteLength > this.opts.settings.frameBytesMax) return this.drop(conn, 'frame_too_large', wsCloseCodes.frameTooLarge);
    const frame = parseFrame(message, isBinary);
    switch (frame.t) {
      case 'error':
        return this.refuse(conn, frame.frame);
      case 'subscribe':
        return this.subscribe(conn, frame.id, frame.topic, frame.ticket);
      case 'unsubscribe':
        this.subscriptions.remove(conn, frame.topic);
        conn.snapshotsDue.delete(frame.topic);
        return this.reply(conn, { id: frame.id, ok: true });
      case 'command':
        return this.command(conn, frame.id, frame.request, message.byteLength);
    }
  }

  private subscribe(conn: Conn, id: RequestId, topic: string, ticket: string | null): void {
    if (!conn.topics.has(topic) && conn.topics.size >= this.opts.settings.subscriptionsPerSocketMax) {
      return this.refuse(conn, wsErrorFrame('SUBSCRIPTIONS_LIMIT_EXCEEDED', id, { max: this.opts.settings.subscriptionsPerSocketMax }));
    }
    this.subscriptions.add(conn, topic, ticket);
    this.reply(conn, { id, ok: true });
    if (topic.startsWith('stock:')) {
      const sku = topic.slice('stock:'.length);
      const counts = (body: unknown) => (typeof (body as { available?: unknown } | undefined)?.available === 'number' ? { sku, available: (body as { available: number }).available } : undefined);
      this.sendCurrent(conn, topic, `/api/inventory/${encodeURIComponent(sku)}`, counts);
    } else if (topic.startsWith('drop:') && ticket !== null) {
      // A buyer who subscribes (or reconnects) after being admitted gets the token here, as a poll would give it.
      this.sendCurrent(conn, topic, `/api/drops/${encodeURIComponent(topic.slice('drop:'.length))}/queue/${encodeURIComponent(ticket)}`, (body) => body);
    }
  }

  /**
   * What a new subscriber starts from, read as the HTTP GET `path` would (a stock count from the owner's memory, a
   * ticket's state from its drop's owner; forwarded in a cluster), without holding the socket up; dropped if an
   * update got there first, the socket left, or the read answered other than 200.
   */
  private sendCurrent(conn: Conn, topic: string, path: string, toData: (body: unknown) => unknown): void {
    // Subscribing and leaving in a loop must not pile up reads (each may be a request to another node): past as many
    // as the socket may have subscriptions, a new subscriber waits for the next update instead.
    if (conn.readsInFlight >= this.opts.settings.subscriptionsPerSocketMax) return;
    conn.snapshotsDue.add(topic);
    const answer = (res: HttpResponse): void => {
      const data = res.status === 200 ? toData(res.body) : undefined;
      if (!conn.snapshotsDue.delete(topic) || conn.ws === null || data === undefined) return;
      const frame = JSON.stringify({ topic, data });
      this.send(conn, frame, Buffer.byteLength(frame), true);
    };
    const res = this.opts.commands.run({ method: 'GET', path, headers: {}, body: {} }, 0, conn.ip);
    if (!(res instanceof Promise)) return answer(res);
    conn.readsInFlight++;
    // run() never rejects; answer() runs guarded so nothing it throws becomes an unhandled rejection.
    void res.then((r) => {
      conn.readsInFlight--;
      this.guarded(() => answer(r), () => undefined);
    });
  }

  private command(conn: Conn, id: RequestId, request: Parameters<CommandRunner['run']>[0], frameBytes: number): void {
    if (conn.commandsInFlight >= this.opts.settings.commandsInFlightPerSocketMax) {
      return this.refuse(conn, wsErrorFrame('OVERLOADED', id, { max: this.opts.settings.commandsInFlightPerSocketMax }));
    }
    const res = this.opts.commands.run(request, frameBytes, conn.ip);
    if (!(res instanceof Promise)) return this.reply(conn, { id, status: res.status, body: res.body ?? null });
    conn.commandsInFlight++;
    // run() never rejects (a handler's failure is a 500 INTERNAL answer); the socket may be gone by the answer.
    void res.then((r) => {
      conn.commandsInFlight--;
      this.guarded(() => this.reply(conn, { id, status: r.status, body: r.body ?? null }, true), () => undefined);
    });
  }

  /** An error frame; the socket stays usable until it has earned too many. */
  private refuse(conn: Conn, frame: { id?: RequestId }): void {
    conn.errorFrames++;
    const text = JSON.stringify(frame);
    this.send(conn, text, Buffer.byteLength(text), false);
    if (conn.errorFrames >= wsLimits.errorFramesPerSocketMax) this.drop(conn, 'error_frames', wsCloseCodes.policyViolation);
  }

  /** An answer; one that cannot be serialized (a bug in a handler) is answered 500 INTERNAL, as HTTP would. */
  private reply(conn: Conn, frame: { id: RequestId; [field: string]: unknown }, corked = false): void {
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (err) {
      this.opts.log.error({ err }, 'a WebSocket answer could not be serialized');
      text = JSON.stringify({ id: frame.id, status: 500, body: errorResponse('INTERNAL').body });
    }
    this.send(conn, text, Buffer.byteLength(text), corked);
  }

  /**
   * Sends unless the socket is gone; a reader this far behind is closed instead (4001), its frame not queued. A
   * frame always goes out to a socket with nothing waiting, so at most the bound plus one frame is ever buffered.
   */
  private send(conn: Conn, text: string, bytes: number, corked: boolean): void {
    const ws = conn.ws;
    if (ws === null) return;
    const buffered = ws.getBufferedAmount();
    if (buffered > 0 && buffered + bytes > this.opts.settings.sendBufferBytesMax) return this.drop(conn, 'slow_reader', wsCloseCodes.slowReader);
    this.opts.counts.framesOut++;
    if (corked) ws.cork(() => ws.send(text, false));
    else ws.send(text, false);
  }

  private drop(conn: Conn, reason: string, code: number): void {
    const ws = conn.ws;
    if (ws === null) return;
    this.opts.counts.closedByServer.set(reason, (this.opts.counts.closedByServer.get(reason) ?? 0) + 1);
    this.opts.log.info({ ip: conn.ip, reason, code }, 'closing a WebSocket');
    ws.end(code, reason);
  }
}
