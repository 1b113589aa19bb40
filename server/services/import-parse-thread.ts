/**
 * The worker side of server/services/import-parser.ts: unzips, parses and checks an uploaded file
 * with the pure converters of docs-model/formats into plain data, off the event loop. Started only
 * by `createImportParser` (through persistence/worker-thread.ts's `startBundledThread`).
 *
 * Protocol: a request is `{ type: 'parse', id, format, body: ArrayBuffer (transferred), ctx }`. The
 * answer is any number of `{ type: 'annotations', id, batch }` (the imported annotations, in
 * order), then `{ type: 'result', id, ok: true, result }` with the rest of the result (its
 * annotations left empty), or `{ type: 'result', id, ok: false, error }` with what the converter
 * threw. After a batch, the next message waits for the main thread's `{ type: 'more', id }`: Node
 * delivers every message already queued on a port in one task, so ten batches sent at once were
 * decoded in one ~45 ms stretch of the main thread's loop; one at a time, each is its own task.
 *
 * A run's detections file is `{ type: 'detections', id, format: 'mot' | 'csv', body, ctx }`,
 * answered by one `{ type: 'detections', id, parsed }` (the detections as columns,
 * detection-columns.ts, their buffers transferred) or by a failed `result` as above.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import {
  formats,
  InputTooLargeError,
  parseMotDetections,
  UnsafeInputError,
  type FormatName,
  type ImportContext,
  type ImportedAnnotation,
  type ImportResult,
  type Problem,
} from '../../docs-model/formats/index.ts';
import { parseDetectionsCsv } from '../../docs-model/formats/detections-csv.ts';
import { runAtBackgroundPriority } from '../../persistence/thread-priority.ts';
import { packDetections, packedBuffers, type PackedDetections } from './detection-columns.ts';

export interface ParseRequest {
  type: 'parse';
  id: number;
  format: FormatName;
  body: ArrayBuffer;
  ctx: ImportContext;
}

/** A thrown converter error as data: rebuilt as the same class, with the same fields, on the main thread. */
export type ThrownError =
  | { kind: 'too_large'; code: string; message: string; place: string; limit: number; unit: InputTooLargeError['unit'] }
  | { kind: 'unsafe'; problems: Problem[] }
  | { kind: 'other'; name: string; message: string; stack?: string };

/** A run's detections uploaded as a MOTChallenge file (text or zip) or as CSV/TSV. */
export interface DetectionsRequest {
  type: 'detections';
  id: number;
  format: 'mot' | 'csv';
  body: ArrayBuffer;
  ctx: { meta: { width: number; height: number; frameCount: number }; labels?: readonly string[]; clip?: boolean };
}

/** What the converter found: the detections as columns (none when there is an error), and its problems. */
export interface ParsedDetections {
  detections: PackedDetections;
  warnings: Problem[];
  errors: Problem[];
  /** Every error found, also past the ones listed. */
  errorCount: number;
}

/** What the main thread sends: a file to parse, or "send the next part of answer `id`". */
export type ParseMessage = ParseRequest | DetectionsRequest | { type: 'more'; id: number };

export type ParseReply =
  | { type: 'annotations'; id: number; batch: ImportedAnnotation[] }
  | { type: 'detections'; id: number; parsed: ParsedDetections }
  | { type: 'result'; id: number; ok: true; result: ImportResult }
  | { type: 'result'; id: number; ok: false; error: ThrownError };

/** Annotations per message: ~2 000 plain objects decode in a few milliseconds. */
export const BATCH = 2000;

const asData = (err: unknown): ThrownError => {
  if (err instanceof InputTooLargeError) return { kind: 'too_large', code: err.code, message: err.message, place: err.place, limit: err.limit, unit: err.unit };
  if (err instanceof UnsafeInputError) return { kind: 'unsafe', problems: err.problems };
  if (err instanceof Error) return { kind: 'other', name: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) };
  return { kind: 'other', name: 'Error', message: String(err) };
};

const port = parentPort;
if (port) {
  // Parsing a large upload is seconds of batch work: the event loop's core comes first (persistence/thread-priority.ts).
  runAtBackgroundPriority();
  /** Answers being sent, each the messages it has left. */
  const sending = new Map<number, ParseReply[]>();
  const sendNext = (id: number): void => {
    const left = sending.get(id);
    const next = left?.shift();
    if (!left || !next) return;
    if (left.length === 0) sending.delete(id);
    port.postMessage(next);
  };
  port.on('message', (message: ParseMessage) => {
    if (message.type === 'more') return sendNext(message.id);
    if (message.type === 'detections') return replyDetections(port, message);
    let result: ImportResult;
    try {
      result = formats[message.format].parse(new Uint8Array(message.body), message.ctx);
    } catch (err) {
      port.postMessage({ type: 'result', id: message.id, ok: false, error: asData(err) } satisfies ParseReply);
      return;
    }
    const all = result.content.annotations;
    const replies: ParseReply[] = [];
    for (let at = 0; at < all.length; at += BATCH) replies.push({ type: 'annotations', id: message.id, batch: all.slice(at, at + BATCH) });
    replies.push({ type: 'result', id: message.id, ok: true, result: { ...result, content: { ...result.content, annotations: [] } } });
    sending.set(message.id, replies);
    sendNext(message.id);
  });
}

function replyDetections(to: MessagePort, { id, format, body, ctx }: DetectionsRequest): void {
  let parsed: ParsedDetections;
  try {
    const input = new Uint8Array(body);
    if (format === 'mot') {
      const r = parseMotDetections(input, { meta: ctx.meta, ...(ctx.labels ? { labels: ctx.labels } : {}) });
      parsed = { detections: packDetections(r.detections), warnings: r.warnings, errors: r.errors, errorCount: r.errors.length };
    } else {
      const r = parseDetectionsCsv(input, { meta: ctx.meta, clip: ctx.clip ?? false, fileName: 'detections.csv' });
      parsed = { detections: packDetections(r.detections), warnings: [], errors: r.errors, errorCount: r.errorCount };
    }
  } catch (err) {
    to.postMessage({ type: 'result', id, ok: false, error: asData(err) } satisfies ParseReply);
    return;
  }
  to.postMessage({ type: 'detections', id, parsed } satisfies ParseReply, packedBuffers(parsed.detections));
}
