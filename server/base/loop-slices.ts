/**
 * Long synchronous producers cut into slices, so one request never holds the event loop that
 * every socket shares (docs/architecture.md, "Layers": one process, one loop). An export is a
 * generator of ~64 KiB chunks, but `Readable.from` pulls a synchronous iterable in a loop for as
 * long as the socket accepts writes, and a loopback socket accepts a whole export: a VOC export of
 * 10 000 annotations held the loop for ~0.5 s in one piece. Here the pull yields to the loop
 * (setImmediate: I/O callbacks, so socket frames, run first) once a slice has run `sliceMs`.
 *
 *   body: Readable.from(inSlices(chunks()), { objectMode: false })
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Longest stretch one slice may run; the loop's other work fits between slices. A slice's own time
 * adds to whatever collection falls in it: `bench:stalls`, seven alternated runs each, VOC export of
 * 10 000 annotations, max delivery delay 14-54 ms (median 26) with 5 ms against 28-64 (median 45)
 * with 10, and the bulk create's parse 14-25 against 19-40.
 */
export const SLICE_MS = 5;

/** `items`, pulled in slices of at most about `sliceMs` with a turn of the event loop between them. */
export async function* inSlices<T>(items: Iterable<T>, sliceMs = SLICE_MS): AsyncGenerator<T> {
  let since = performance.now();
  for (const item of items) {
    yield item;
    if (performance.now() - since >= sliceMs) {
      await nextTurn();
      since = performance.now();
    }
  }
}

/**
 * The value `steps` returns, its steps run in slices of at most about `sliceMs` with a turn of the
 * event loop between them (a loss pass before an export: docs-model/formats/loss-pass.ts).
 */
export async function finishInSlices<R>(steps: Generator<unknown, R>, sliceMs = SLICE_MS): Promise<R> {
  let since = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - since >= sliceMs) {
      await nextTurn();
      since = performance.now();
    }
  }
}

/**
 * `{ "items": [...] }` as UTF-8 JSON bytes, `slice` items stringified and encoded at a time with a
 * turn of the event loop between slices: the answer to a 10 000-annotation bulk create in one
 * JSON.stringify held the loop ~30-60 ms. Bytes, not a string: a string joined from slices is a
 * rope, and koa's `Buffer.byteLength` (Content-Length) flattened it and the socket write encoded it
 * again, 28 + 16 ms in one turn for 10 000 annotations (a CPU profile under `npm run bench:stalls`).
 */
export async function itemsJson(items: readonly unknown[], slice = 1000): Promise<Buffer> {
  const parts: Buffer[] = [Buffer.from('{"items":[')];
  for (let start = 0; start < items.length; start += slice) {
    if (start > 0) await nextTurn();
    const text = JSON.stringify(items.slice(start, start + slice)).slice(1, -1);
    parts.push(Buffer.from(start > 0 ? `,${text}` : text));
  }
  parts.push(Buffer.from(']}'));
  return Buffer.concat(parts);
}
