import { benchLimits } from './bench-limits.js';
import { getInventory } from './http.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls GET /api/inventory/:sku once a second until nothing is available (every unit sold or held by a checkout
 * that is finishing), for at most `secondsMax`. Returns the seconds it took, or null if the SKU did not sell out.
 * Rejects as soon as `abort` does (the load worker died): waiting on would only hide the failure.
 */
export async function waitForSoldOut(baseUrl: string, sku: string, secondsMax: number, abort: Promise<unknown>): Promise<number | null> {
  const t0 = Date.now();
  let failed: unknown = null;
  abort.then(
    () => (failed = new Error('the load finished before the SKU sold out')),
    (err: unknown) => (failed = err),
  );
  while (Date.now() - t0 < secondsMax * 1000) {
    await sleep(benchLimits.soldOutPollMs);
    if (failed) throw failed;
    // Under full load a poll can be slow or fail; the next one decides.
    const counts = await getInventory(baseUrl, sku).catch(() => null);
    if (counts && counts.available === 0) return (Date.now() - t0) / 1000;
  }
  return null;
}

/**
 * Steady-state scenarios (soldout-storm, holds, catalog) measure after a warm-up: the first second of a run is
 * connection setup and JIT compilation on both sides, the same for every contender but not what a sale looks like
 * after its first second. The warm-up is a phase of its own; it shows in the series and counts for the error
 * checks, and the headline rates come from the measured phase alone.
 */
export const warmupSeconds = (quick: boolean): number => (quick ? 1 : 3);
