import type { TestNode } from './node-harness.js';
import { WsClient } from './ws-client.js';

/** Clients of a test node's /ws, all closed with it: the set-up the WebSocket integration tests share. */
export class WsClients {
  private readonly open: WsClient[] = [];

  constructor(private readonly t: TestNode) {}

  get url(): string {
    return `ws://127.0.0.1:${this.t.node.port}/ws`;
  }

  async connect(): Promise<WsClient> {
    const c = await WsClient.connect(this.url);
    this.open.push(c);
    return c;
  }

  /** Closes every client opened so far (the node keeps running). */
  closeAll(): void {
    for (const c of this.open.splice(0)) c.close();
  }

  /** Closes the clients, then the node. */
  async stop(): Promise<void> {
    this.closeAll();
    await this.t.stop();
  }
}
