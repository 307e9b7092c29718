import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server, for network faults a test cannot make with the server itself: `blackhole()`
 * stops every byte both ways without closing anything (a connection dropped silently, no FIN, no RST: what a dead
 * NAT entry or a pulled cable looks like) and holds new connections the same way; `heal()` ends the fault for new
 * connections and cuts the silent ones, as the network coming back would find them gone.
 */
export interface TcpProxy {
  readonly port: number;
  blackhole(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let holed = false;
  const server: Server = createServer((client) => {
    client.on('error', () => {});
    if (holed) {
      client.pause(); // accepted, never answered
      pairs.add([client, client]);
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => pairs.delete(pair);
    client.on('close', () => (upstream.destroy(), drop()));
    upstream.on('close', () => (client.destroy(), drop()));
    client.on('data', (d) => {
      if (!holed) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!holed) client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    blackhole() {
      holed = true;
    },
    heal() {
      holed = false;
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
