import type { PromoUsage, Promotion } from '../domain/promotions.js';

/**
 * Promotion usage as checkouts and orders see it: the ledger of this node, or in a cluster the ledger of the node
 * owning the promotion's partition (`promo:<code>`), so limits are exact across nodes.
 */
export interface PromoUses {
  /** Makes sure `usage` answers for (code, customer). */
  prepare(code: string, customerKey: string): Promise<void>;
  usage(code: string, customerKey: string): PromoUsage;
  /** Takes one use if the limits allow it; false when used up. */
  reserve(promo: Promotion, customerKey: string): Promise<boolean>;
  /** Recovery: a resumed checkout took its use before the restart; count it again without a limit check. */
  forceReserve(code: string, customerKey: string): void;
  release(code: string, customerKey: string): void;
}

/**
 * Promotion usage on this node: confirmed orders (loaded once per code and customer from the database) plus
 * checkouts in flight. Reserving usage is synchronous, so two concurrent checkouts cannot both take the last use.
 * Usage is given back when a checkout fails and when an order is cancelled.
 * In a cluster each node keeps the ledger of the promotions whose partition it owns (see PromoUses).
 */
export class PromoLedger implements PromoUses {
  private readonly totals = new Map<string, number>();
  private readonly perCustomer = new Map<string, number>();
  private readonly loading = new Map<string, Promise<void>>();
  /** When each (code, customer) and each code was last loaded or counted: idle ones are forgotten (evictIdle). */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly load: (code: string, customerKey: string) => Promise<PromoUsage>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Forgets the counts untouched since `idleSinceMs` (reloaded from the database when next needed), so the ledger holds
   * the customers of the last hour, not of the whole sale. Safe once idle longer than any checkout runs: a use taken
   * that long ago is in an order by now, or was given back. Returns how many entries went.
   */
  evictIdle(idleSinceMs: number): number {
    let evicted = 0;
    const liveCodes = new Set<string>();
    for (const [k, at] of this.touched) {
      const sep = k.indexOf('\u0000');
      if (sep < 0) continue;
      if (at > idleSinceMs || this.loading.has(k)) liveCodes.add(k.slice(0, sep));
      else {
        this.perCustomer.delete(k);
        this.touched.delete(k);
        evicted++;
      }
    }
    for (const code of [...this.totals.keys()]) {
      if (liveCodes.has(code) || (this.touched.get(code) ?? 0) > idleSinceMs) continue;
      this.totals.delete(code);
      this.touched.delete(code);
      evicted++;
    }
    return evicted;
  }

  /** Entries held now (per customer and per code). */
  size(): number {
    return this.perCustomer.size + this.totals.size;
  }

  /** Makes sure the counts for (code, customer) are in memory. */
  async prepare(code: string, customerKey: string): Promise<void> {
    const k = `${code}\u0000${customerKey}`;
    if (this.perCustomer.has(k)) return;
    let p = this.loading.get(k);
    if (!p) {
      p = this.load(code, customerKey).then((u) => {
        if (!this.totals.has(code)) this.totals.set(code, u.total);
        if (!this.perCustomer.has(k)) this.perCustomer.set(k, u.byCustomer);
        this.touch(code, k);
        this.loading.delete(k);
      });
      p.catch(() => this.loading.delete(k));
      this.loading.set(k, p);
    }
    await p;
  }

  usage(code: string, customerKey: string): PromoUsage {
    return { total: this.totals.get(code) ?? 0, byCustomer: this.perCustomer.get(`${code}\u0000${customerKey}`) ?? 0 };
  }

  async reserve(promo: Promotion, customerKey: string): Promise<boolean> {
    await this.prepare(promo.code, customerKey);
    return this.tryReserve(promo, customerKey);
  }

  /** Forgets the counts of the codes `which` selects (their partition arrived: reload them from the database). */
  forget(which: (code: string) => boolean): void {
    for (const code of this.totals.keys()) if (which(code)) (this.totals.delete(code), this.touched.delete(code));
    for (const k of this.perCustomer.keys()) if (which(k.slice(0, k.indexOf('\u0000')))) (this.perCustomer.delete(k), this.touched.delete(k));
  }

  /** Takes one use if the limits allow it (call after prepare). */
  tryReserve(promo: Promotion, customerKey: string): boolean {
    const u = this.usage(promo.code, customerKey);
    if (promo.usageLimitTotal !== null && u.total >= promo.usageLimitTotal) return false;
    if (promo.usageLimitPerCustomer !== null && u.byCustomer >= promo.usageLimitPerCustomer) return false;
    this.bump(promo.code, customerKey, 1);
    return true;
  }

  /** Recovery: a resumed checkout already took its use before the restart; count it again without a limit check. */
  forceReserve(code: string, customerKey: string): void {
    // Counted on top of the stored usage, never instead of it: counts not loaded yet are loaded first.
    if (this.perCustomer.has(`${code}\u0000${customerKey}`) && this.totals.has(code)) this.bump(code, customerKey, 1);
    else void this.prepare(code, customerKey).then(() => this.bump(code, customerKey, 1), () => undefined);
  }

  release(code: string, customerKey: string): void {
    this.bump(code, customerKey, -1);
  }

  private bump(code: string, customerKey: string, d: number): void {
    const k = `${code}\u0000${customerKey}`;
    // A release for counts not loaded (they were forgotten when the promotion's partition arrived) changes nothing:
    // the next load reads the stored usage, which no longer counts the released use.
    if (d < 0 && !this.totals.has(code)) return;
    this.totals.set(code, Math.max(0, (this.totals.get(code) ?? 0) + d));
    if (this.perCustomer.has(k) || d > 0) this.perCustomer.set(k, Math.max(0, (this.perCustomer.get(k) ?? 0) + d));
    this.touch(code, k);
  }

  private touch(code: string, k: string): void {
    const at = this.now();
    this.touched.set(code, at);
    this.touched.set(k, at);
  }
}
