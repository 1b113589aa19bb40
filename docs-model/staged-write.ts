/**
 * A write checked against the document and cut into steps. Applied as one transaction it is the
 * plain write (`runStaged`: what a browser client and every small server write do); the server
 * runs a large one a step per transaction, with turns of its event loop between them, so a
 * 10 000-annotation import does not hold every socket for half a second. The checks run first,
 * themselves in slices, and every refusal comes from them: a write step never throws on input.
 *
 *   const staged = planAddAnnotations(doc, inputs, { by: 'ada' })
 *   runStaged(doc, staged, origin)   // every check (one may throw), then every step in one transaction
 */
import type * as Y from 'yjs';

export interface StagedWrite<T> {
  /**
   * Run first, in order, outside any transaction: the checks, cut so a large input is not checked
   * in one go. One may throw (a refused input); nothing is written until all have run.
   */
  readonly checks?: ReadonlyArray<() => void>;
  /** The writes, once every check ran; each runs inside a transaction its caller opens. */
  readonly steps: () => ReadonlyArray<() => void>;
  /** Once every step ran (counts fill in as they run). */
  readonly result: () => T;
}

/**
 * How many items one write step writes. Yjs alone writes 100 annotations in ~1 ms on an idle
 * machine; in a server under `bench:stalls`, with the update's encoding, the observers and the
 * scavenges that fall in it, a step of 100 held the loop ~28 ms (docs/architecture.md, "Large writes").
 */
export const WRITE_STEP_ITEMS = 50;
/** How many items one check step checks (a few µs each). */
export const CHECK_STEP_ITEMS = 1000;

/** Runs every check, then every step in one transaction (none when there is nothing to write), and gives the result. */
export const runStaged = <T>(doc: Y.Doc, staged: StagedWrite<T>, origin?: unknown): T => {
  for (const check of staged.checks ?? []) check();
  const steps = staged.steps();
  if (steps.length > 0) {
    doc.transact(() => {
      for (const step of steps) step();
    }, origin);
  }
  return staged.result();
};

/** `write` for every item (with its index), `size` items per step. */
export const stepsOver = <I>(items: readonly I[], write: (item: I, index: number) => void, size = WRITE_STEP_ITEMS): Array<() => void> => {
  const steps: Array<() => void> = [];
  for (let start = 0; start < items.length; start += size) {
    const end = Math.min(start + size, items.length);
    steps.push(() => {
      for (let k = start; k < end; k++) write(items[k]!, k);
    });
  }
  return steps;
};
