import * as uWS from 'uWebSockets.js';

/**
 * The ceiling for the soldout-storm comparison: a bare uWebSockets.js app answering GET /hello with `hello` and
 * nothing else — no router, no JSON, no headers of ours. boxoffice's sold-out answer is measured against this.
 */
export interface HelloServer {
  port: number;
  close(): void;
}

export async function startHello(port: number, host?: string): Promise<HelloServer> {
  const app = uWS.App();
  app.get('/hello', (res) => {
    res.end('hello');
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end();
  });
  const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    const onListen = (s: uWS.us_listen_socket | false): void => (s === false ? reject(new Error(`Could not listen on ${host ?? '*'}:${port}`)) : resolve(s));
    if (host === undefined) app.listen(port, onListen);
    else app.listen(host, port, onListen);
  });
  return {
    port: uWS.us_socket_local_port(socket),
    close(): void {
      uWS.us_listen_socket_close(socket);
      // app.close() also closes kept-alive connections (uWS ≥ 20.29), so nothing keeps the event loop alive.
      (app as { close?: () => void }).close?.();
    },
  };
}
