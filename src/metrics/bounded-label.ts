/**
 * A label whose values are bounded: the first `max` distinct values are used as they are, every later one becomes
 * `overflow`. Keeps a label fed by admin-created names (drop SKUs) from growing the series count without bound.
 */
export class BoundedLabel {
  private readonly named = new Set<string>();

  constructor(
    private readonly max: number,
    readonly overflow = 'other',
  ) {}

  of(value: string): string {
    if (this.named.has(value)) return value;
    if (this.named.size >= this.max) return this.overflow;
    this.named.add(value);
    return value;
  }
}
