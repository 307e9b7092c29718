import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { heldAndSold, readKey } from './db.js';
import { expiredHoldsText, setPgStock } from './pg-stock.js';
import { sortedLines, type Line, type ShortLine, type StockBackend } from './stock-backend.js';

/**
 * Stock as a Redis counter per SKU (`stock:<sku>`), taken by a Lua script that checks and decrements every line of a
 * checkout atomically: Redis runs a script alone, so no two checkouts interleave and nothing oversells. The order
 * rows still go to PostgreSQL; when anything after the take fails, the stock is given back by a second script.
 * `bench_stock` keeps the imported stock as the record of what was loaded; Redis is the live count.
 */

/** KEYS: stock counters; ARGV: quantities. Returns {} when taken, else a flat list of (line index, available). */
const takeScript = `
local short = {}
for i = 1, #KEYS do
  local have = tonumber(redis.call('GET', KEYS[i]) or '0')
  if have < tonumber(ARGV[i]) then
    short[#short + 1] = i
    short[#short + 1] = have
  end
end
if #short > 0 then return short end
for i = 1, #KEYS do redis.call('DECRBY', KEYS[i], ARGV[i]) end
return short`;

/** KEYS: stock counters; ARGV: quantities. Returns the counts after giving back. */
const giveBackScript = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call('INCRBY', KEYS[i], ARGV[i]) end
return out`;

interface StockCommands {
  stockTake(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
  stockGiveBack(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

export interface RedisStockOptions {
  redisUrl: string;
  /** Prepended to every key (ioredis keyPrefix), so several runs can share one Redis. Default ''. */
  keyPrefix?: string;
}

export const stockKey = (sku: string): string => `stock:${sku}`;

export async function createRedisStock(pool: Pool, opts: RedisStockOptions): Promise<StockBackend> {
  // Auto-pipelining sends every command issued in one event-loop tick as one write: under hundreds of concurrent
  // checkouts, one syscall per EVALSHA was the largest cost of a sold-out answer.
  const redis = new Redis(opts.redisUrl, { keyPrefix: opts.keyPrefix ?? '', lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: true });
  await redis.connect();
  // defineCommand sends EVALSHA and falls back to EVAL once if the script cache was flushed: loaded once, not per call.
  redis.defineCommand('stockTake', { lua: takeScript });
  redis.defineCommand('stockGiveBack', { lua: giveBackScript });
  const cmd = redis as unknown as StockCommands;
  const run = (name: keyof StockCommands, lines: Line[]) => {
    const sorted = sortedLines(lines);
    return cmd[name](sorted.length, ...sorted.map((l) => stockKey(l.sku)), ...sorted.map((l) => l.qty));
  };
  const take = async (lines: Line[]): Promise<ShortLine[] | null> => {
    const flat = await run('stockTake', lines);
    if (flat.length === 0) return null;
    const sorted = sortedLines(lines);
    const short: ShortLine[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const line = sorted[flat[i]! - 1]!;
      short.push({ sku: line.sku, requested: line.qty, available: flat[i + 1]! });
    }
    return short;
  };
  const giveBack = async (lines: Line[]): Promise<void> => {
    if (lines.length > 0) await run('stockGiveBack', lines);
  };

  return {
    takesInTransaction: false,
    lookup: async (key) => ({ record: await readKey(pool, key), available: null }),
    takeBeforePayment: take,
    giveBack,
    takeInTransaction: async () => null,
    async setStock(items) {
      await setPgStock(pool, items);
      if (items.length > 0) await redis.mset(...items.flatMap((i) => [stockKey(i.sku), String(i.qty)]));
    },
    async hold(sku, qty, holdId, expiresAt) {
      const short = await take([{ sku, qty }]);
      if (short !== null) return { ok: false, available: short[0]!.available };
      try {
        await pool.query({
          name: 'redis_hold',
          text: `INSERT INTO inventory_reservations (reservation_id, sku, qty, expires_at, order_id, status) VALUES ($1, $2, $3, $4, NULL, 'active')`,
          values: [holdId, sku, qty, expiresAt],
        });
      } catch (err) {
        await giveBack([{ sku, qty }]);
        throw err;
      }
      return { ok: true, available: await availableOf(redis, sku) };
    },
    async release(sku, holdId) {
      const { rows } = await pool.query<{ qty: number }>({
        name: 'redis_release',
        text: `DELETE FROM inventory_reservations WHERE reservation_id = $1 AND sku = $2 AND status = 'active' RETURNING qty`,
        values: [holdId, sku],
      });
      // The row is gone before the stock comes back: a crash in between loses the units (reported by the checks).
      if (rows[0] === undefined) return { released: false, qty: 0, available: await availableOf(redis, sku) };
      const [after] = await run('stockGiveBack', [{ sku, qty: rows[0].qty }]);
      return { released: true, qty: rows[0].qty, available: after ?? 0 };
    },
    // Redis and PostgreSQL are read one after the other: during a sale, units taken by Lua whose order has not
    // committed yet are in neither count, so onHand reads low until the checkouts in flight finish.
    async counts(sku) {
      const [available, hs] = await Promise.all([availableOf(redis, sku), heldAndSold(pool, sku)]);
      return { available, ...hs };
    },
    async sweepExpired() {
      const { rows } = await pool.query<{ sku: string; qty: number }>({
        name: 'redis_sweep',
        text: `DELETE FROM inventory_reservations WHERE reservation_id IN (${expiredHoldsText}) AND status = 'active' RETURNING sku, qty`,
      });
      await giveBack(rows);
      return rows;
    },
    async close() {
      await redis.quit();
    },
  };
}

async function availableOf(redis: Redis, sku: string): Promise<number> {
  return Number((await redis.get(stockKey(sku))) ?? 0);
}
