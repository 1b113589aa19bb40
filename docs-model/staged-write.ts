/**
 * A write checked against the document and cut into steps. Applied as one transaction it is the
 * plain write (`runStaged`: what a browser client and every small server write do); the server
 * runs a large one a step per transaction, with turns of its event loop between them, so a
 * 10 000-annotation import does not hold every socket for half a second. Every check runs when the
 * write is planned, before any step: a step never throws on input.
 *
 *   const staged = planAddAnnotations(doc, inputs, { by: 'ada' })   // throws here, or never
 *   runStaged(doc, staged, origin)                                  // all steps, one transaction
 */
import type * as Y from 'yjs';

export interface StagedWrite<T> {
  /** In order; each runs inside a transaction its caller opens. */
  readonly steps: ReadonlyArray<() => void>;
  /** Complete once every step ran (counts fill in as they run). */
  readonly result: T;
}

/** How many items one step writes: ~5–15 ms of Yjs work for annotations (docs/architecture.md, "Large writes"). */
export const WRITE_STEP_ITEMS = 100;

/** Runs every step in one transaction (none when there is nothing to write) and gives the result. */
export const runStaged = <T>(doc: Y.Doc, staged: StagedWrite<T>, origin?: unknown): T => {
  if (staged.steps.length > 0) {
    doc.transact(() => {
      for (const step of staged.steps) step();
    }, origin);
  }
  return staged.result;
};

/** `write` for every item, `size` items per step. */
export const stepsOver = <I>(items: readonly I[], write: (item: I) => void, size = WRITE_STEP_ITEMS): Array<() => void> => {
  const steps: Array<() => void> = [];
  for (let start = 0; start < items.length; start += size) {
    const slice = items.slice(start, start + size);
    steps.push(() => {
      for (const item of slice) write(item);
    });
  }
  return steps;
};
