import { benchProduct } from '../lib/catalog-import.js';
import { LatencyHistogram } from '../lib/histogram.js';
import { requestJson } from '../lib/http.js';
import { sumValue } from '../lib/prometheus.js';
import { runContender, scrapeMetrics, type BenchEnv, type Live } from '../lib/run-contender.js';
import { notRunRecord, type RunRecord } from '../lib/run-record.js';
import type { Scenario } from '../lib/scenario.js';
import { sleep } from '../lib/waits.js';
import { shuffledOrder } from '../../src/domain/drop-queue.js';

/**
 * drop (boxoffice only; issue 12): 50,000 buyers (quick: 5,000) join a drop's queue before its start, spread over
 * the servers; then the drop starts and the harness plays the buyers at the head of the queue: it polls their
 * tickets (a window of `windowTickets`), and each admitted buyer checks out at once with its token, at a server
 * picked round robin. Reported: time from the start to sold out, admissions per second against orders per second
 * (admission follows capacity: the two should match, with admitted ≈ units), and admission → order latency
 * (first poll that saw the admission → the checkout's 201: what a buyer waits after being let in). WebSocket
 * messages per second are left to the WebSocket part (no /ws here yet).
 */
const buyersFull = 50_000;
const buyersQuick = 5_000;
const unitsFull = 1_000;
const unitsQuick = 100;
const joinConcurrency = 64;
const windowTickets = 400;
const pollEveryMs = 20;
const saleSecondsMax = 300;
const dropSku = 'DROP-BENCH';

export const drop: Scenario = {
  name: 'drop',
  description: 'a drop: 50,000 buyers queue for 1,000 units; time to sell out, admissions against capacity, admission → order p99',
  async run(env, opts) {
    const buyers = opts.quick ? buyersQuick : buyersFull;
    const units = opts.quick ? unitsQuick : unitsFull;
    const variant = `buyers=${buyers} units=${units}`;
    const params = { buyers, units, windowTickets };
    const runs: RunRecord[] = [];
    if (!opts.contenders.includes('boxoffice')) runs.push(notRunRecord({ scenario: 'drop', variant, params, contender: 'boxoffice' }, 'not run: boxoffice excluded by --contenders'));
    else runs.push(await runDrop(env, variant, params, buyers, units));
    return {
      scenario: 'drop',
      description: drop.description,
      settings: { buyers, units, joinConcurrency, windowTickets, pollEveryMs },
      runs,
      ratios: [],
      notes: [
        'secondsToSoldOut: from the start (the shuffle) to the drop reading sold_out. admissionsPerSec and ordersPerSec over that time; admitted ÷ units ≥ 1 (never far more).',
        'admitToOrder: from the first poll that saw a ticket admitted to its checkout\'s 201, in ms (includes the harness\'s poll interval).',
      ],
    };
  },
};

function runDrop(env: BenchEnv, variant: string, params: RunRecord['params'], buyers: number, units: number): Promise<RunRecord> {
  return runContender(
    env,
    { scenario: 'drop', variant, params, contender: 'boxoffice', serverEnv: {}, catalog: { count: 1, itemAt: () => benchProduct(dropSku, units) }, skus: [{ sku: dropSku, initial: units }], settleSkus: [dropSku], expectNoHolds: true },
    (live) => driveDrop(live, buyers, units),
  );
}

async function driveDrop(live: Live, buyers: number, units: number) {
  const urls = live.servers.map((s) => s.baseUrl);
  const admin = { authorization: `Bearer ${live.server.adminToken}` };
  const put = (startsAt: string) => requestJson('PUT', `${urls[0]}/api/drops/${dropSku}`, { headers: admin, body: { startsAt, perCustomerLimit: 1, admissionTtlMs: 30_000 } });
  if ((await put(new Date(Date.now() + 3_600_000).toISOString())).status !== 200) throw new Error('PUT /api/drops failed');
  const tickets: string[] = new Array(buyers);
  const joinStart = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: joinConcurrency }, async () => {
    while (next < buyers) {
      const i = next++;
      const r = await requestJson('POST', `${urls[i % urls.length]}/api/drops/${dropSku}/queue`, { body: { customerId: `buyer-${i}` } });
      if (r.status !== 202) throw new Error(`join ${i}: ${r.status} ${r.text}`);
      tickets[i] = r.body.ticket;
    }
  }));
  const joinSeconds = (Date.now() - joinStart) / 1000;
  live.log(`${buyers} joined in ${joinSeconds.toFixed(1)} s`);
  await put(new Date(Date.now() + 200).toISOString());
  const sale = await playSale(live, urls, tickets, units);
  const metricsText = await scrapeMetrics(live.server);
  return {
    load: null,
    connections: null,
    metrics: {
      joinsPerSec: Math.round(buyers / joinSeconds),
      secondsToSoldOut: sale.seconds,
      admitted: sale.admitted,
      sold: sale.sold,
      admissionsPerSec: Math.round(sale.admitted / sale.seconds),
      ordersPerSec: Math.round(sale.sold / sale.seconds),
      admitToOrderP50Ms: sale.latency.p50Ms,
      admitToOrderP99Ms: sale.latency.p99Ms,
      admissionsCounted: sumValue(metricsText, 'boxoffice_drop_admissions_total'),
    },
  };
}

/**
 * Plays the buyers at the head of the queue, in the order recomputed from the published seed (docs/drops.md): polls
 * the next `windowTickets` not yet admitted, and starts each admitted buyer's checkout at once.
 */
async function playSale(live: Live, urls: string[], tickets: string[], units: number) {
  const hist = new LatencyHistogram();
  const buying: Promise<void>[] = [];
  let sold = 0;
  let rr = 0;
  let seed: string | null = null;
  while (seed === null) {
    seed = (await requestJson('GET', `${urls[0]}/api/drops/${dropSku}`)).body.shuffleSeed;
    if (seed === null) await sleep(pollEveryMs);
  }
  const started = Date.now();
  const order = shuffledOrder(seed, tickets.map((_, i) => ({ customerId: `buyer-${i}`, seq: i + 1 }))).map((b) => b.seq - 1);
  let front = 0;
  const seenAdmitted = new Set<number>();
  for (;;) {
    if (Date.now() - started > saleSecondsMax * 1000) throw new Error('the drop did not sell out in time');
    const head = order.slice(front, front + windowTickets);
    const views = await Promise.all(head.map((i) => requestJson('GET', `${urls[rr++ % urls.length]}/api/drops/${dropSku}/queue/${tickets[i]}`).then((r) => r.body)));
    const seenAt = Date.now();
    views.forEach((v, k) => {
      if (v.state !== 'admitted' || seenAdmitted.has(head[k]!)) return;
      seenAdmitted.add(head[k]!);
      buying.push(buyNow(urls[rr++ % urls.length]!, `buyer-${head[k]}`, v, seenAt, hist).then((ok) => void (ok && sold++)));
    });
    while (front < order.length && seenAdmitted.has(order[front]!)) front++;
    if (views.some((v) => v.state === 'sold_out') || front >= order.length) break;
    await sleep(pollEveryMs);
  }
  await Promise.all(buying);
  const dropView = (await requestJson('GET', `${urls[0]}/api/drops/${dropSku}`)).body;
  live.log(`sold out: ${JSON.stringify(dropView)}`);
  return { seconds: (Date.now() - started) / 1000, admitted: dropView.admitted as number, sold: Math.min(sold, units), latency: hist.summary() };
}

async function buyNow(url: string, customerId: string, v: { ticket: string; admissionToken: string }, seenAt: number, hist: LatencyHistogram): Promise<boolean> {
  const r = await requestJson('POST', `${url}/api/checkout`, {
    headers: { 'idempotency-key': `drop-${v.ticket}`, 'admission-token': v.admissionToken },
    body: { items: [{ sku: dropSku, qty: 1 }], paymentMethod: 'pm_card_visa', customerId, address: { name: 'Bench', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' } },
  });
  if (r.status !== 201) return false;
  hist.recordMs(Date.now() - seenAt);
  return true;
}
