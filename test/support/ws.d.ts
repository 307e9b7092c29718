/** The few parts of the `ws` package (a dependency of our uWebSockets.js build, no types shipped) the tests use. */
declare module 'ws' {
  import { EventEmitter } from 'node:events';
  export default class WebSocket extends EventEmitter {
    constructor(url: string, options?: { headers?: Record<string, string>; maxPayload?: number });
    readonly readyState: number;
    send(data: string | Buffer, cb?: (err?: Error) => void): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    pause(): void;
    resume(): void;
  }
}
