/**
 * What the main thread posts for a score (ground-truth-thread.ts, `ScoreInputs`), and what it
 * believes the ground-truth thread keeps (kept-inputs.ts): a release's ground truth or a run's
 * detections goes by its name alone when the thread holds it, else whole and named, to be kept.
 * The belief is this side replaying the thread's keeps in the order they were posted (a seal's at
 * its answer); a wrong one costs a round trip (the thread answers `not-kept`), never a wrong score.
 *
 *   const held = new HeldInputs(budgets)
 *   const inputs = await held.inputs(truth, detections)          // names where the thread holds them
 *   const inputs = await held.inputs(truth, detections, true)    // everything whole (after not-kept)
 *   held.posted(thread, inputs)                                  // once posted to that thread
 */
import type { Worker } from 'node:worker_threads';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import type { PostedTruth, ScoreInputs } from './ground-truth-thread.ts';
import { packDetectionsInSlices } from './detection-columns.ts';
import { KeptInputs } from './kept-inputs.ts';
import type { TruthSource } from './test-runs/run-scoring.ts';

/** A release's ground truth: named by its content hash, loaded only when the thread does not hold it. */
export interface ReleaseTruth {
  contentHash: string;
  load(): Promise<TruthSource>;
}

/**
 * A run's detections: named by `name` (the run, its creation and `count`: what a run holds only
 * grows; `visibleSet` in the detections repository), loaded only when the thread does not hold
 * them. Loaded with another count than `count` (an upload became visible meanwhile), they are
 * scored but not kept.
 */
export interface RunDetections {
  name: string;
  count: number;
  load(): Promise<readonly DetectionRecord[]>;
}

export interface Budgets {
  annotations: number;
  detections: number;
}

/** The annotations as an array: a structured clone takes no iterator. */
const posted = (source: TruthSource): PostedTruth => ({ ...source, annotations: Array.isArray(source.annotations) ? source.annotations : [...source.annotations] });

const isRun = (detections: readonly DetectionRecord[] | RunDetections): detections is RunDetections => 'load' in detections;

export class HeldInputs {
  private thread: Worker | null = null;
  private truths: KeptInputs<true>;
  private runs: KeptInputs<true>;
  private readonly budgets: Budgets;
  /** For tests: release truths and run detections sent whole, and scores sent again after `not-kept`. */
  sent = { truths: 0, runs: 0, again: 0 };

  constructor(budgets: Budgets) {
    this.budgets = budgets;
    this.truths = new KeptInputs(budgets.annotations);
    this.runs = new KeptInputs(budgets.detections);
  }

  /** The inputs of a score: by name what the thread is believed to hold, unless `whole`. */
  async inputs(truth: TruthSource | ReleaseTruth, detections: readonly DetectionRecord[] | RunDetections, whole = false): Promise<ScoreInputs> {
    let truthPart: ScoreInputs['truth'];
    if (!('contentHash' in truth)) truthPart = { source: posted(truth) };
    else if (!whole && this.truths.has(truth.contentHash)) truthPart = { hash: truth.contentHash };
    else {
      truthPart = { hash: truth.contentHash, source: posted(await truth.load()) };
      this.sent.truths++;
    }
    let foundPart: ScoreInputs['found'];
    if (!isRun(detections)) foundPart = { packed: await packDetectionsInSlices(detections) };
    else if (!whole && this.runs.has(detections.name)) foundPart = { name: detections.name };
    else {
      const list = await detections.load();
      foundPart = { packed: await packDetectionsInSlices(list), ...(list.length === detections.count ? { name: detections.name } : {}) };
      this.sent.runs++;
    }
    return { truth: truthPart, found: foundPart };
  }

  /** Whether any part of `inputs` goes by name alone (the thread may answer `not-kept`). */
  static byName(inputs: ScoreInputs): boolean {
    return (inputs.truth.hash !== undefined && !inputs.truth.source) || (inputs.found.name !== undefined && !inputs.found.packed);
  }

  /** `inputs` were posted to `thread`: replay the keeps it makes. */
  posted(thread: Worker, { truth, found }: ScoreInputs): void {
    this.on(thread);
    if (truth.hash !== undefined) {
      if (truth.source) this.truths.keep(truth.hash, truth.source.annotations.length, true);
      else this.truths.get(truth.hash);
    }
    if (found.name !== undefined) {
      // The typed columns were transferred (detached, length 0); the arrays of strings were cloned.
      if (found.packed) this.runs.keep(found.name, found.packed.trackIds.length, true);
      else this.runs.get(found.name);
    }
  }

  /** A release of `annotations` sealed by `thread`, which keeps its truth. */
  sealed(thread: Worker, contentHash: string, annotations: number): void {
    this.on(thread);
    this.truths.keep(contentHash, annotations, true);
  }

  /** A new thread holds nothing. */
  private on(thread: Worker): void {
    if (this.thread === thread) return;
    this.thread = thread;
    this.truths = new KeptInputs(this.budgets.annotations);
    this.runs = new KeptInputs(this.budgets.detections);
  }
}
