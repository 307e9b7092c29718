/**
 * The part of autocannon 8's programmatic API the load worker uses (the package ships no types). Field meanings
 * are from its README: `requests[].setupRequest` rewrites each request before it is sent, `onResponse` sees each
 * answer's status and body, `setupClient` runs once per connection before it connects.
 */
declare module 'autocannon' {
  namespace autocannon {
    interface RawRequest {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      [key: string]: unknown;
    }
    interface RequestStep {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      setupRequest?: (request: RawRequest, context: Record<string, unknown>) => RawRequest | null | undefined;
      onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, unknown>) => void;
    }
    interface Client {
      setRequests(requests: RequestStep[]): void;
    }
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      amount?: number;
      timeout?: number;
      pipelining?: number;
      overallRate?: number;
      requests?: RequestStep[];
      setupClient?: (client: Client) => void;
      excludeErrorStats?: boolean;
    }
    interface Instance extends NodeJS.EventEmitter {
      stop(): void;
      on(event: 'response', listener: (client: Client, statusCode: number, resBytes: number, responseTimeMs: number) => void): this;
      on(event: 'reqError', listener: (error: Error) => void): this;
      on(event: 'error', listener: (error: Error) => void): this;
      on(event: 'done', listener: (result: unknown) => void): this;
      on(event: 'start' | 'tick', listener: (...args: unknown[]) => void): this;
    }
  }
  function autocannon(opts: autocannon.Options, cb?: (err: Error | null, result: unknown) => void): autocannon.Instance;
  export = autocannon;
}
