/**
 * The order to delete many entries of a map in: newest first. When a transaction deletes, Yjs
 * collects the deleted items' content and merges each run of collected structs into one, splicing
 * the rest out of its client's struct array (`tryMergeDeleteSet` → `tryToMergeWithLefts`, yjs
 * src/utils/Transaction.js; the cost is upstream's, yjs#541). A splice moves every struct to its
 * right. Oldest first, every deletion moves all the newer entries still whole (an annotation is ~17
 * structs); newest first, only the entries already collapsed (two structs each). Deleting 20 000
 * annotations 100 per transaction: 2.8-5.8 s oldest first, 0.7-1.3 s newest first, and the longest
 * transaction 38-266 ms against 11-29 ms (`npx tsx bench/delete-order.ts`).
 *
 *   for (const id of newestFirst(map, idsToDelete)) map.delete(id)
 */
import type * as Y from 'yjs';

/** `keys` sorted by the clock of the item each holds in `map`, newest first; keys it lacks go last. */
export const newestFirst = <T>(map: Y.Map<T>, keys: Iterable<string>): string[] => {
  const clockOf = (key: string): number => map._map.get(key)?.id.clock ?? -1;
  return [...keys].sort((a, b) => clockOf(b) - clockOf(a));
};
