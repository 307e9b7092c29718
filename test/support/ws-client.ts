import WebSocket from 'ws';

/**
 * A WebSocket client for tests (the `ws` package, which our uWebSockets.js build depends on: Node 20 has no global
 * WebSocket). Every received frame is kept in order; `next` waits for the first unread one that matches, bounded.
 */
export const wsClientLimits = {
  /** Bound of every wait for a frame, an open or a close. */
  waitMsMax: 10_000,
} as const;

export interface Closed {
  code: number;
  reason: string;
}

export class WsClient {
  readonly frames: any[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<Closed>;
  private nextId = 1;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { unparsed: text };
      }
      this.frames.push(parsed);
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code: number, reason: Buffer) => {
      resolve({ code, reason: reason.toString() });
      this.wake();
    }));
    socket.on('error', () => {});
  }

  /** Opens a socket to `url` (ws://host:port/ws); rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string): Promise<WsClient> {
    const socket = new WebSocket(url);
    const client = new WsClient(socket);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no open within the bound')), wsClientLimits.waitMsMax);
      socket.once('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
      socket.once('unexpected-response', (_req: unknown, res: { statusCode: number; on: (e: string, f: (c: Buffer) => void) => void }) => {
        clearTimeout(timer);
        let body = '';
        res.on('data', (c) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body: JSON.parse(body || 'null') })));
      });
      socket.once('error', (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** Sends `frame` with a fresh id (unless it has one) and resolves with the frame answering that id. */
  async request(frame: Record<string, unknown>): Promise<any> {
    const id = frame['id'] ?? `r${this.nextId++}`;
    this.send({ ...frame, id });
    return this.next((f) => f.id === id);
  }

  /** The first unread frame that matches (frames skipped on the way stay readable by later calls). */
  async next(match: (frame: any) => boolean = () => true, waitMs: number = wsClientLimits.waitMsMax): Promise<any> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      for (let i = 0; i < this.frames.length; i++) {
        if (match(this.frames[i])) {
          const [frame] = this.frames.splice(i, 1);
          return frame;
        }
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.socket.readyState === 3) throw new Error(`no matching frame within ${waitMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Frames matching that have arrived so far, removed from the unread ones. */
  take(match: (frame: any) => boolean): any[] {
    const out = this.frames.filter(match);
    for (const f of out) this.frames.splice(this.frames.indexOf(f), 1);
    return out;
  }

  close(): void {
    this.socket.close();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Waits for the close, bounded. */
export async function closedWithin(client: WsClient, waitMs: number = wsClientLimits.waitMsMax): Promise<Closed> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`not closed within ${waitMs} ms`)), waitMs)));
  try {
    return await Promise.race([client.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
