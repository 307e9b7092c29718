import { Client } from 'pg';
import { checkCorrectness, type CorrectnessReport, type SkuToCheck } from '../contenders/checks.js';
import { benchLimits } from './bench-limits.js';
import { getInventory, type InventoryCounts } from './http.js';
import { acknowledgedOrders, errorChecks } from './load-math.js';
import type { LoadSummary } from './load-stats.js';
import type { Check } from './run-record.js';
import type { ContenderKind } from './servers.js';

/**
 * Correctness after every run, from three angles that do not trust each other:
 * 1. the database, through bench/contenders/checks.ts `checkCorrectness` (orders confirmed ≤ stock, conservation,
 *    oversell count) — the same SQL for every contender, since all of them write the same order rows;
 * 2. the server's own view, GET /api/inventory: available + held + sold == onHand, sold ≤ initial;
 * 3. the client's view: every order the load generator saw acknowledged (201/202) has a row; no 5xx, timeouts or
 *    connection errors.
 */
export interface StockLine {
  sku: string;
  initial: number;
}

export interface CheckInput {
  kind: ContenderKind;
  baseUrl: string;
  databaseUrl: string;
  /** Every SKU the run stocked, most important first (the inventory read-back takes the first inventoryCheckSkusMax). */
  skus: StockLine[];
  load: LoadSummary | null;
  /** Buy-now and cart checkouts end every hold; the holds scenario leaves some open by design. */
  expectNoHolds: boolean;
  /** Where redis-lua keeps its counters for this run (REDIS_KEY_PREFIX). */
  redisUrl: string;
  redisKeyPrefix: string;
}

export async function runChecks(input: CheckInput): Promise<Check[]> {
  const checks: Check[] = [];
  if (input.load) checks.push(...errorChecks(input.load));
  // The `hello` reference server sells nothing: only its error counts mean anything.
  if (input.kind === 'hello') return checks;
  const counts = await readInventory(input);
  if (counts instanceof Error) return [...checks, { name: 'inventory read-back', ok: false, detail: counts.message }];
  checks.push(...(await databaseChecks(input, counts)));
  checks.push(...inventoryChecks(input, counts));
  if (input.load) checks.push(await acknowledgedOrdersPersisted(input.databaseUrl, acknowledgedOrders(input.load)));
  return checks;
}

/**
 * The database's view through checkCorrectness (bench/contenders/checks.ts, shared by every contender). boxoffice's
 * stock lives in its SKU actors and journal, so its SKUs are checked with the counts GET /api/inventory returned
 * (and their `sold` is compared with the orders table); the contenders' stock is read from their own tables/Redis.
 */
async function databaseChecks(input: CheckInput, counts: Map<string, InventoryCounts>): Promise<Check[]> {
  if (input.kind === 'hello') return [];
  const skus: SkuToCheck[] =
    input.kind === 'boxoffice'
      ? input.skus.filter((l) => counts.has(l.sku)).map((l) => ({ ...l, counts: counts.get(l.sku)! }))
      : input.skus;
  let report: CorrectnessReport;
  try {
    report = await checkCorrectness(input.databaseUrl, skus, input.kind, { redisUrl: input.redisUrl, redisKeyPrefix: input.redisKeyPrefix });
  } catch (err) {
    return [{ name: 'database: checkCorrectness ran', ok: false, detail: `threw: ${(err as Error).message}` }];
  }
  const stock = skus.reduce((n, l) => n + l.initial, 0);
  const unitsSold = Object.values(report.soldQty).reduce((n, q) => n + q, 0);
  const scope = `${skus.length} SKUs`;
  return [
    { name: 'database: units sold ≤ stock', ok: unitsSold <= stock, detail: `${report.confirmedOrders} confirmed orders, ${unitsSold} units sold of ${stock} (${scope})` },
    { name: 'database: oversell count == 0', ok: report.oversold === 0, detail: `${report.oversold} units oversold` },
    { name: 'database: conservation (available + held + sold == initial)', ok: report.conservationOk, detail: report.conservationOk ? scope : firstErrors(report.errors) },
    { name: 'database: no inconsistency reported', ok: report.errors.length === 0, detail: report.errors.length === 0 ? 'none' : firstErrors(report.errors) },
  ];
}

const firstErrors = (errors: string[]) => `${errors.length} problems, e.g. ${errors.slice(0, 3).join('; ')}`;

/** GET /api/inventory for the first inventoryCheckSkusMax SKUs, a few in parallel. */
async function readInventory(input: CheckInput): Promise<Map<string, InventoryCounts> | Error> {
  const sample = input.skus.slice(0, benchLimits.inventoryCheckSkusMax);
  const counts = new Map<string, InventoryCounts>();
  try {
    for (let i = 0; i < sample.length; i += benchLimits.inventoryCheckParallel) {
      const batch = sample.slice(i, i + benchLimits.inventoryCheckParallel);
      for (const c of await Promise.all(batch.map((l) => getInventory(input.baseUrl, l.sku)))) counts.set(c.sku, c);
    }
    return counts;
  } catch (err) {
    return err as Error;
  }
}

function inventoryChecks(input: CheckInput, bySku: Map<string, InventoryCounts>): Check[] {
  const counts = [...bySku.values()];
  const initial = new Map(input.skus.map((l) => [l.sku, l.initial]));
  const broken = counts.filter((c) => c.available + c.held + c.sold !== c.onHand);
  const oversold = counts.filter((c) => c.sold > (initial.get(c.sku) ?? 0));
  const oversellUnits = oversold.reduce((n, c) => n + c.sold - (initial.get(c.sku) ?? 0), 0);
  const holding = counts.filter((c) => c.held !== 0);
  const scope = `${counts.length} of ${input.skus.length} SKUs via GET /api/inventory`;
  const checks: Check[] = [
    { name: 'inventory conservation (available + held + sold == onHand)', ok: broken.length === 0, detail: broken.length === 0 ? scope : `${broken.length} SKUs broken, e.g. ${JSON.stringify(broken[0])}` },
    { name: 'inventory oversell (sold ≤ initial)', ok: oversellUnits === 0, detail: oversellUnits === 0 ? `0 units oversold; ${scope}` : `${oversellUnits} units oversold on ${oversold.length} SKUs, e.g. ${JSON.stringify(oversold[0])}` },
  ];
  if (input.expectNoHolds) {
    checks.push({ name: 'every hold ended (held == 0)', ok: holding.length === 0, detail: holding.length === 0 ? scope : `${holding.length} SKUs still hold stock, e.g. ${JSON.stringify(holding[0])}` });
  }
  return checks;
}

async function acknowledgedOrdersPersisted(databaseUrl: string, acknowledged: number): Promise<Check> {
  const name = 'acknowledged orders persisted (rows ≥ 201/202 seen)';
  const db = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: benchLimits.sqlStatementMsMax, query_timeout: benchLimits.sqlStatementMsMax });
  db.on('error', () => {});
  try {
    await db.connect();
    const r = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM orders WHERE status IN ('confirmed', 'shipped', 'pending')`);
    const rows = Number(r.rows[0]?.n ?? 0);
    return { name, ok: rows >= acknowledged, detail: `${rows} order rows, ${acknowledged} acknowledged to the client` };
  } catch (err) {
    return { name, ok: false, detail: `query failed: ${(err as Error).message}` };
  } finally {
    await db.end().catch(() => {});
  }
}
