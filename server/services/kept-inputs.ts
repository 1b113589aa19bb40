/**
 * What the ground-truth thread (ground-truth-thread.ts) keeps between jobs: releases' ground truths
 * by content hash, and runs' detections by run and count; least recently used first out, within a
 * budget. Posting an evaluation's inputs to the thread held the main thread 14-19 ms in one piece
 * (bench:stalls, 10 000 annotations and 50 000 detections), most of it the structured clone of the
 * release's annotations; and reading 100 000 detections back from the database took ~400 ms of an
 * evaluation's ~950 (bench/test-runs.ts). Kept there, an evaluation the thread already has inputs
 * for (a release sealed or scored before, a run scored before with as many detections) posts their
 * names alone.
 *
 * A name must name one value for ever: content hashes name content (two releases with the same
 * hash share an entry), and a run's visible detections only grow, so a run (its id and its
 * creation: a deleted run's id may be taken again) with their count names one set.
 *
 *   const kept = new KeptInputs<TruthSource>(100_000)   // a budget, in items (annotations, detections)
 *   kept.keep(name, source.annotations.length, source)  // one larger than the budget is not kept
 *   kept.get(name)                                       // the value, now the most recent; or undefined
 */

/** Annotations kept at most, over every release kept (~0.5 KB of the thread's heap each). */
export const KEPT_ANNOTATIONS = 100_000;
/** Detections kept at most, over every run kept (~0.2 KB each). */
export const KEPT_DETECTIONS = 200_000;

export class KeptInputs<V> {
  private readonly kept = new Map<string, { weight: number; value: V }>();
  private total = 0;
  private readonly budget: number;

  constructor(budget: number) {
    this.budget = budget;
  }

  get(name: string): V | undefined {
    const entry = this.kept.get(name);
    if (!entry) return undefined;
    this.kept.delete(name);
    this.kept.set(name, entry);
    return entry.value;
  }

  has(name: string): boolean {
    return this.kept.has(name);
  }

  keep(name: string, weight: number, value: V): void {
    this.drop(name);
    if (weight > this.budget) return;
    this.kept.set(name, { weight, value });
    this.total += weight;
    for (const oldest of this.kept.keys()) {
      if (this.total <= this.budget) break;
      this.drop(oldest);
    }
  }

  private drop(name: string): void {
    const entry = this.kept.get(name);
    if (!entry) return;
    this.kept.delete(name);
    this.total -= entry.weight;
  }
}
