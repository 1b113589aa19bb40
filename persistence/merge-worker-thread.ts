/**
 * The worker side of persistence/merge-worker.ts: folds stored updates into one update through a
 * Y.Doc (as server/create-server.ts's `mergeThroughDoc` did on the main thread), so a merge that
 * never ends (yjs#687) can be cut off by terminating this thread. Started only by `createMergePool`.
 *
 * Protocol: it posts `{ type: 'ready', tid }` once loaded (the pool starts a request's clock only
 * then, so a cold start under tsx does not count against the budget); `tid` is the thread's kernel
 * id when its CPU time can be read (thread-clock.ts), and the thread then runs at background
 * priority (thread-priority.ts): the pool keeps its budget in that CPU time, so a merge slowed by a
 * busy event loop is not cut off. `tid` is null elsewhere: normal priority, wall-clock budget. A
 * request is
 * `{ id, how: 'doc', packed: ArrayBuffer, lengths: number[] }` (every update back to back) or
 * `{ id, how: 'updates', parts: ArrayBuffer[] }` (one update each), all transferred, and the answer
 * `{ id, ok: true, merged: ArrayBuffer }` (transferred) or `{ id, ok: false, message }`.
 */
import { parentPort } from 'node:worker_threads';
import * as Y from 'yjs';
import { currentThreadId, threadCpuMs } from './thread-clock.ts';
import { runAtBackgroundPriority } from './thread-priority.ts';

/** `doc`: through a Y.Doc (garbage collected, a whole document); `updates`: Y.mergeUpdates. */
export type MergeRequest =
  | { id: number; how: 'doc'; packed: ArrayBuffer; lengths: number[] }
  | { id: number; how: 'updates'; parts: ArrayBuffer[] };

export type MergeReply =
  | { type: 'ready'; tid: number | null }
  | { type: 'result'; id: number; ok: true; merged: ArrayBuffer }
  | { type: 'result'; id: number; ok: false; message: string };

function mergeThroughDoc(packed: ArrayBuffer, lengths: number[]): Uint8Array {
  // A guid given, not drawn: Yjs's random uuid costs ~0.2 ms (live-document.ts).
  const doc = new Y.Doc({ gc: true, guid: 'merge' });
  try {
    Y.transact(doc, () => {
      let offset = 0;
      for (const length of lengths) {
        Y.applyUpdate(doc, new Uint8Array(packed, offset, length));
        offset += length;
      }
    });
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}

function mergeUpdates(parts: ArrayBuffer[]): Uint8Array {
  return Y.mergeUpdates(parts.map((part) => new Uint8Array(part)));
}

/** An ArrayBuffer holding exactly `bytes`: its own when it is not a view into a larger one. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
}

const port = parentPort;
if (port) {
  port.on('message', (request: MergeRequest) => {
    let reply: MergeReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const merged = ownBuffer(request.how === 'updates' ? mergeUpdates(request.parts) : mergeThroughDoc(request.packed, request.lengths));
      transfer.push(merged);
      reply = { type: 'result', id: request.id, ok: true, merged };
    } catch (err) {
      reply = { type: 'result', id: request.id, ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply, transfer);
  });
  const tid = currentThreadId();
  const cpuClock = tid !== null && threadCpuMs(tid) !== null;
  if (cpuClock) runAtBackgroundPriority();
  port.postMessage({ type: 'ready', tid: cpuClock ? tid : null } satisfies MergeReply);
}
