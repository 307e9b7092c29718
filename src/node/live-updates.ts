import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { StockUpdates } from '../edge/stock-updates.js';
import { startTopicHub, type TopicHub } from '../edge/topic-hub.js';
import type { HttpRequest, HttpResponse } from '../http/request.js';
import type { Router } from '../http/router.js';
import { commandRunner } from '../http/ws/ws-commands.js';
import { WsServer } from '../http/ws/ws-server.js';
import type { Metrics } from '../metrics.js';
import type { TemplatedApp } from 'uWebSockets.js';

/** The live side of a node: the topic hub every publisher uses, the throttled `stock:<sku>` updates, /ws. */
export interface LiveUpdates {
  hub: TopicHub;
  stock: StockUpdates;
  /**
   * The WebSocket API at /ws over the node's router and readiness gate, attached to the hub: the HTTP server's
   * `mount`, which returns what closes every socket (1001) when the server closes.
   */
  webSocket(router: Router, before: (req: HttpRequest) => HttpResponse | null): (app: TemplatedApp) => () => void;
  close(): Promise<void>;
}

/** Started before the core, whose SKU actors report their committed counts to `stock`. */
export async function startLiveUpdates(o: { config: Config; clock: Clock; log: Logger; metrics: Metrics }): Promise<LiveUpdates> {
  const hub = await startTopicHub({ redisUrl: o.config.redisUrl, clusterName: o.config.clusterName, nodeId: o.config.nodeId, secret: o.config.clusterSecret, clock: o.clock, log: o.log });
  const stock = new StockUpdates((sku, available) => hub.publish(`stock:${sku}`, { sku, available }), o.clock);
  return {
    hub,
    stock,
    webSocket: (router, before) => (app) => {
      const ws = new WsServer({ commands: commandRunner(router, before, o.log), settings: o.config.ws, log: o.log, counts: o.metrics.ws });
      hub.attach(ws);
      ws.mount(app);
      return () => ws.close();
    },
    async close() {
      stock.stop();
      await hub.close();
    },
  };
}
