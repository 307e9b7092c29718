import type * as uWS from 'uWebSockets.js';
import { limits } from '../config/limits.js';
import type { HttpResponse, StreamSink, StreamStart } from './request.js';
import { writeHead } from './response-writer.js';

/**
 * A streamed response on uWS (server-sent events): the status and headers, then chunks written with chunked transfer
 * encoding until the producer ends it or the client goes away (uWS onAborted, which also fires when the server
 * closes its connections). A client that reads slower than it is sent gets frames dropped, never buffered without
 * bound: once uWS reports backpressure (write() false: that chunk is buffered), later chunks are dropped until
 * onWritable says the buffer drained. So at most one chunk waits per slow client; one that has not read for
 * limits.streamDroppedChunksMax chunks in a row is cut (connection closed, producer stopped): it would otherwise keep
 * its slot as long as its socket lives. A producer whose start throws gets a closed stream (writes dropped) and the
 * server closes the connection.
 */
class UwsStream implements StreamSink {
  open = true;
  private congested = false;
  /** Chunks dropped in a row since one was last accepted. */
  private dropped = 0;
  /** Inside the route callback or a cork: writes go straight out. */
  corked = false;
  stop: (() => void) | null = null;

  constructor(private readonly res: uWS.HttpResponse) {}

  write(chunk: string): boolean {
    if (!this.open) return false;
    if (this.congested) {
      if (++this.dropped >= limits.streamDroppedChunksMax) this.cut();
      return false;
    }
    this.dropped = 0;
    let ok = true;
    if (this.corked) ok = this.res.write(chunk);
    else this.res.cork(() => (ok = this.res.write(chunk)));
    if (!ok) {
      this.congested = true;
      this.res.onWritable(() => {
        this.congested = false;
        return true;
      });
    }
    return true;
  }

  end(): void {
    if (!this.open) return;
    this.open = false;
    this.stop = null;
    if (this.corked) this.res.end();
    else this.res.cork(() => this.res.end());
  }

  /** The client stopped reading: close the connection and stop the producer (uWS's onAborted then finds it closed). */
  private cut(): void {
    this.open = false;
    const stop = this.stop;
    this.stop = null;
    this.res.close();
    stop?.();
  }

  /** The client went away (or the server closed the connection): the response must not be touched again. */
  aborted(): void {
    if (!this.open) return;
    this.open = false;
    const stop = this.stop;
    this.stop = null;
    stop?.();
  }
}

/** Writes the head and starts the producer; `inCallback` when called inside the route callback (already corked). */
export function openStream(res: uWS.HttpResponse, response: HttpResponse, start: StreamStart, inCallback: boolean): void {
  const stream = new UwsStream(res);
  res.onAborted(() => stream.aborted());
  const begin = (): void => {
    stream.corked = true;
    const contentType = writeHead(res, response);
    if (contentType !== undefined) res.writeHeader('content-type', contentType);
    try {
      const stop = start(stream);
      // A producer that ended the stream while starting is not stopped again.
      if (stream.open) stream.stop = stop;
    } catch (err) {
      // The producer failed to start (and must have forgotten the stream): nothing more is written; the caller closes.
      stream.open = false;
      throw err;
    } finally {
      stream.corked = false;
    }
  };
  if (inCallback) begin();
  else res.cork(begin);
}
