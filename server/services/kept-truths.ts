/**
 * The ground truths the ground-truth thread (ground-truth-thread.ts) keeps between jobs, by a
 * release's content hash, least recently used first out. Posting an evaluation's inputs to the
 * thread held the main thread 14-19 ms in one piece (bench:stalls, 10 000 annotations and 50 000
 * detections), most of it the structured clone of the release's annotations; kept there, an
 * evaluation of a release the thread already holds (sealed or scored before) posts its hash.
 * Content hashes name content, so two releases with the same hash share one entry.
 *
 *   const kept = new KeptTruths<TruthSource>(100_000)   // a budget in annotations
 *   kept.keep(hash, source.annotations.length, source)  // one larger than the budget is not kept
 *   kept.get(hash)                                       // the source, now the most recent; or undefined
 */

/** What the thread keeps at most, in annotations over every kept release (~0.5 KB of heap each). */
export const KEPT_TRUTH_ANNOTATIONS = 100_000;

export class KeptTruths<V> {
  private readonly kept = new Map<string, { weight: number; value: V }>();
  private total = 0;
  private readonly budget: number;

  constructor(budget: number = KEPT_TRUTH_ANNOTATIONS) {
    this.budget = budget;
  }

  get(hash: string): V | undefined {
    const entry = this.kept.get(hash);
    if (!entry) return undefined;
    this.kept.delete(hash);
    this.kept.set(hash, entry);
    return entry.value;
  }

  has(hash: string): boolean {
    return this.kept.has(hash);
  }

  keep(hash: string, weight: number, value: V): void {
    this.drop(hash);
    if (weight > this.budget) return;
    this.kept.set(hash, { weight, value });
    this.total += weight;
    for (const oldest of this.kept.keys()) {
      if (this.total <= this.budget) break;
      this.drop(oldest);
    }
  }

  private drop(hash: string): void {
    const entry = this.kept.get(hash);
    if (!entry) return;
    this.kept.delete(hash);
    this.total -= entry.weight;
  }
}
