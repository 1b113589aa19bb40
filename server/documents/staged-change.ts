/**
 * A large server-side change (an import, a bulk create of thousands of annotations) written a
 * step per transaction with a turn of the event loop between steps: in ONE transaction, 10 000
 * annotations held the loop — and every socket of every document — for 300–450 ms (integration,
 * the update's encoding, the observers, the garbage). Meanwhile the document is the change's
 * alone (`LiveDocument.takeExclusive`): its peers' messages and every other reader and writer
 * wait, so nobody sees it half-written. Its updates are held back, made into one (joined as they
 * are when they chain, update-chain.ts; merged off the event loop otherwise), and only then stored,
 * sent and told — one update, one log row, one `change`, as if written in one transaction
 * (docs/architecture.md, "Large writes").
 *
 *   const result = await runInSteps(doc, origin, staged, { mergeUpdates })
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import * as Y from 'yjs';
import { UnavailableError } from '../base/errors.ts';
import type { StagedWrite } from '../../docs-model/staged-write.ts';
import type { DocName } from '../../docs-model/protocol.ts';
import type { LiveDocument } from './live-document.ts';
import type { ChangeOrigin } from './origins.ts';

export interface StepDeps {
  /** Folds updates into one, off the event loop (persistence/merge-worker.ts); Y.mergeUpdates here when absent. */
  mergeUpdates?: ((updates: Uint8Array[]) => Promise<Uint8Array>) | undefined;
  /** Runs between two steps; a turn of the event loop by default (a test may hold a change open here). */
  betweenSteps?: (() => Promise<void>) | undefined;
  /** Plan in a turn of its own (a large change: its caller parsed the input in this one). */
  planLater?: boolean;
  /**
   * A step threw, or the merge failed (a bug: steps never refuse input): the document holds part of
   * a change nobody received and that will never be stored. Called while the change still holds
   * the document, so nobody reads it before the holder has dropped it from memory.
   */
  halfWritten(doc: LiveDocument, err: unknown): Promise<void>;
}

/**
 * The document was destroyed while the change waited or ran (a shutdown, a discard): its updates
 * would be stored nowhere, so the change must not answer as made.
 */
const leftMemory = (): UnavailableError => new UnavailableError('the document left memory before the change was made; try again');

const mergeHere = (updates: Uint8Array[]): Promise<Uint8Array> => Promise.resolve(Y.mergeUpdates(updates));

/**
 * Writes `plan`'s steps into `doc`, which the caller holds. `plan` runs once the document is this
 * change's alone and may throw (a refused input: nothing written). Resolves with the result once
 * the merged update is handed to the document (its commit is the caller's to await).
 */
export async function runInSteps<T>(
  doc: LiveDocument,
  origin: ChangeOrigin,
  plan: () => StagedWrite<T>,
  deps: StepDeps,
): Promise<T> {
  const letGo = await doc.takeExclusive();
  try {
    // A large change's input was parsed in this turn: its plan and checks get turns of their own.
    if (deps.planLater) await nextTurn();
    const staged = plan();
    for (const [k, check] of (staged.checks ?? []).entries()) {
      if (k > 0) await nextTurn();
      check();
    }
    const steps = staged.steps();
    if (doc.destroyed) throw leftMemory();
    if (steps.length <= 1) {
      // One step is a plain transaction: nothing to hold back.
      if (steps[0]) doc.ydoc.transact(steps[0], origin);
      return staged.result();
    }
    doc.holdBack(origin, steps.length);
    let merged: Uint8Array | null = null;
    try {
      for (let k = 0; k < steps.length; k++) {
        if (k > 0) await (deps.betweenSteps ?? nextTurn)();
        if (doc.destroyed) break;
        doc.ydoc.transact(steps[k]!, origin);
      }
      const { updates, joined } = doc.takeHeldBack();
      if (!doc.destroyed) merged = updates.length <= 1 ? (updates[0] ?? null) : (joined ?? (await (deps.mergeUpdates ?? mergeHere)(updates)));
    } catch (err) {
      await deps.halfWritten(doc, err);
      throw err;
    }
    if (doc.destroyed) throw leftMemory();
    if (merged) doc.acceptHeldBack(merged, origin);
    return staged.result();
  } finally {
    letGo();
  }
}

/** A change as one step: its result is what the step returned. */
export function oneStep<T>(change: () => T): StagedWrite<T> {
  let result!: T;
  return { steps: () => [() => (result = change())], result: () => result };
}

/** What `transactInSteps` needs of the registry: the document held, once no staged change holds it. */
export interface StepAccess extends StepDeps {
  acquire(docName: DocName): Promise<LiveDocument>;
  release(doc: LiveDocument): void;
}

/** DocRegistry.transactInSteps: `runInSteps` on the document, resolved once its update is committed. */
export async function transactInSteps<T>(
  access: StepAccess,
  docName: DocName,
  origin: ChangeOrigin,
  plan: (ydoc: Y.Doc, origin: ChangeOrigin) => StagedWrite<T>,
): Promise<T> {
  const doc = await access.acquire(docName);
  try {
    const before = doc.lastCommit;
    const result = await runInSteps(doc, origin, () => plan(doc.ydoc, origin), access);
    if (doc.lastCommit !== before) await doc.lastCommit;
    return result;
  } finally {
    access.release(doc);
  }
}
