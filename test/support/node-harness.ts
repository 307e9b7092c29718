import pino from 'pino';
import { loadConfig, type Config } from '../../src/config/config.js';
import { startNode, type NodeOptions, type RunningNode } from '../../src/node.js';
import { jsonOrText } from './http-body.js';
import { createPgTestDatabase, createPgliteDir } from './databases.js';
import { OpenApiContract, type OpenApiJson } from './openapi-contract.js';

export const testAdminToken = 'test-admin-token-0123456789';

export interface TestNode {
  node: RunningNode;
  base: string;
  config: Config;
  /** JSON request helper: returns status, parsed body and headers. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  /** The node's OpenAPI document (GET /openapi.json); `call` checks every answer against it. */
  contract(): Promise<OpenApiContract>;
  stop(): Promise<void>;
}

/**
 * Starts a real node in this process on a free port: PGlite in a temp folder, or a fresh PostgreSQL database
 * (`driver: 'pg'`). Waits until recovery finished. `stop()` closes it and removes its database.
 *
 * `call` (and `admin`) check every answer against the node's own OpenAPI document and throw when the document does
 * not describe it (a status the route does not document, a body that breaks its schema), so every HTTP test is also
 * a contract test.
 */
export async function startTestNode(opts: { driver?: 'pg' | 'pglite'; env?: Record<string, string>; node?: NodeOptions } = {}): Promise<TestNode> {
  const driver = opts.driver ?? 'pglite';
  const pg = driver === 'pg' ? await createPgTestDatabase() : null;
  const lite = driver === 'pglite' ? await createPgliteDir() : null;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_TOKEN: testAdminToken,
    LOG_LEVEL: 'silent',
    PARTITIONS: '64',
    SWEEP_INTERVAL_MS: '200',
    ...(pg ? { DATABASE_URL: pg.url } : { DATA_DIR: lite!.dir }),
    ...opts.env,
  });
  const node = await startNode(config, { logger: pino({ level: 'silent' }), onFatal: (err) => { throw err; }, ...opts.node });
  await node.recovered;
  const base = `http://127.0.0.1:${node.port}`;
  let contract: Promise<OpenApiContract> | undefined;
  const contractOf = () => (contract ??= fetch(`${base}/openapi.json`).then(async (r) => new OpenApiContract((await r.json()) as OpenApiJson)));
  const call: TestNode['call'] = async (method, path, body, headers = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const answer = { status: res.status, body: await jsonOrText(res), headers: res.headers };
    const problems = (await contractOf()).problems({ method, path, status: answer.status, contentType: res.headers.get('content-type'), body: answer.body, headers: res.headers });
    if (problems.length > 0) throw new Error(`the answer breaks the OpenAPI document:\n${problems.join('\n')}`);
    return answer;
  };
  return {
    node,
    base,
    config,
    call,
    admin: (method, path, body) => call(method, path, body, { authorization: `Bearer ${testAdminToken}` }),
    contract: contractOf,
    async stop() {
      await node.close();
      await pg?.drop();
      await lite?.remove();
    },
  };
}

/** A valid shipping address (US, New York). */
export const testAddress = { name: 'Ada Lovelace', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' };

/** Creates a product and sets its stock. */
export async function stock(t: TestNode, sku: string, onHand: number, priceMinor = 2_500, currency = 'USD'): Promise<void> {
  const p = await t.admin('PUT', `/api/products/${sku}`, { name: `Product ${sku}`, priceMinor, currency, weightGrams: 300 });
  if (p.status !== 200) throw new Error(`product ${sku}: ${p.status} ${JSON.stringify(p.body)}`);
  const i = await t.admin('PUT', `/api/inventory/${sku}`, { onHand });
  if (i.status !== 200) throw new Error(`inventory ${sku}: ${i.status} ${JSON.stringify(i.body)}`);
}
