import type { SqlClient } from './sql.js';

/** A webhook endpoint as an admin sees it after its creation (never with its secret). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}

/** Webhook endpoints registered by admins (`/api/admin/webhooks`). */
export class WebhookEndpointStore {
  constructor(private readonly sql: SqlClient) {}

  /**
   * Registers an endpoint unless `endpointsMax` are registered already ('limit'). The count and the insert are one
   * statement; two admins registering at the same instant may still pass it together (a soft cap, which is enough
   * for a bound on the relay's work).
   */
  async create(e: { id: string; url: string; events: string[]; secret: string }, endpointsMax: number): Promise<WebhookEndpoint | 'limit'> {
    const [row] = await this.sql.query<EndpointRow>(
      `INSERT INTO webhook_endpoints (id, url, events, secret)
       SELECT $1, $2, $3::text[], $4 WHERE (SELECT count(*) FROM webhook_endpoints) < $5
       RETURNING id, url, events, created_at`,
      [e.id, e.url, e.events, e.secret, endpointsMax],
    );
    return row === undefined ? 'limit' : view(row);
  }

  async list(): Promise<WebhookEndpoint[]> {
    return (await this.sql.query<EndpointRow>('SELECT id, url, events, created_at FROM webhook_endpoints ORDER BY created_at, id')).map(view);
  }

  async get(id: string): Promise<WebhookEndpoint | null> {
    const [row] = await this.sql.query<EndpointRow>('SELECT id, url, events, created_at FROM webhook_endpoints WHERE id = $1', [id]);
    return row === undefined ? null : view(row);
  }

  /** Deletes the endpoint and, with it, its deliveries (pending ones are never sent). */
  async delete(id: string): Promise<WebhookEndpoint | null> {
    const [row] = await this.sql.query<EndpointRow>('DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id, url, events, created_at', [id]);
    return row === undefined ? null : view(row);
  }
}

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  created_at: Date;
}

function view(r: EndpointRow): WebhookEndpoint {
  return { id: r.id, url: r.url, events: r.events, createdAt: r.created_at.toISOString() };
}
