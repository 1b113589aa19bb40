/**
 * Decoded Yjs content, held at its real size. Yjs reads a `ContentAny`'s values by pushing onto an
 * empty array (`readContentAny` in yjs/src/structs/ContentAny.js), and lib0 reads an array value
 * the same way (`readAny`, case 117, in lib0/decoding.js). V8 gives an empty array's first push
 * room for 16 elements: 144 bytes for the one value a map entry holds, where an array of its own
 * size takes 24. A document that came over the wire or from the database holds one such array per
 * map entry, about 1 500 for 100 annotations: a quarter of the whole Y.Doc (100 annotations of
 * bench/lib/session-fixture.ts, decoded: 762 → 575 KB on the V8 heap; docs/architecture.md,
 * "Memory").
 *
 *   doc.on('afterTransactionCleanup', compactNewContent);
 *
 * Copying is safe: Yjs itself swaps `ContentAny.arr` for a new array when it splits or merges
 * content, and values in a Y.Doc are never changed in place (`cloneValue` copies what leaves it).
 */
import * as Y from 'yjs';

/** Arrays nested deeper than this (never in an annotation) are left as they came. */
const MAX_DEPTH = 4;

function compactValue(value: unknown, depth: number): unknown {
  if (!Array.isArray(value) || depth > MAX_DEPTH) return value;
  const out = value.slice();
  for (let i = 0; i < out.length; i++) out[i] = compactValue(out[i], depth + 1);
  return out;
}

/** Replaces the `ContentAny` arrays of the structs `transaction` added with copies of their own size. */
export function compactNewContent(transaction: Y.Transaction): void {
  const store = transaction.doc.store;
  for (const [client, after] of transaction.afterState) {
    const before = transaction.beforeState.get(client) ?? 0;
    if (before === after) continue;
    const structs = store.clients.get(client);
    if (structs === undefined) continue;
    for (let i = before === 0 ? 0 : Y.findIndexSS(structs, before); i < structs.length; i++) {
      const struct = structs[i];
      if (struct instanceof Y.Item && struct.content instanceof Y.ContentAny) {
        struct.content.arr = compactValue(struct.content.arr, 0) as unknown[];
      }
    }
  }
}
