import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy that can slow a link: with `setDelayMs(d)` every chunk either way is delivered d ms after it
 * arrived, in order (a chunk never overtakes the one before it), as a congested or distant network would. The chaos
 * run puts one in front of each node's inter-node port (the node advertises the proxy's port, NODE_ADVERTISE_PORT).
 */
export interface DelayProxy {
  readonly port: number;
  setDelayMs(ms: number): void;
  close(): Promise<void>;
}

export async function startDelayProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const link = { delayMs: 0 };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined); // a node killed mid-stream: both ends are closed below
      s.on('close', () => (sockets.delete(s), client.destroy(), upstream.destroy()));
    }
    pipeDelayed(client, upstream, link);
    pipeDelayed(upstream, client, link);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    setDelayMs(ms) {
      link.delayMs = ms;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function pipeDelayed(from: Socket, to: Socket, link: { delayMs: number }): void {
  let lastDueMs = 0;
  from.on('data', (chunk) => {
    if (link.delayMs === 0 && lastDueMs <= Date.now()) {
      to.write(chunk);
      return;
    }
    const dueMs = Math.max(Date.now() + link.delayMs, lastDueMs);
    lastDueMs = dueMs;
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, dueMs - Date.now());
  });
  from.on('end', () => {
    const waitMs = Math.max(0, lastDueMs - Date.now());
    setTimeout(() => to.end(), waitMs);
  });
}
