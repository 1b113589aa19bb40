/**
 * The worker side of server/services/import-parser.ts: unzips, parses and checks an uploaded file
 * with the pure converters of docs-model/formats into plain data, off the event loop. Started only
 * by `createImportParser` (through persistence/worker-thread.ts's `startBundledThread`).
 *
 * Protocol: a request is `{ id, format, body: ArrayBuffer (transferred), ctx }`. The answer is any
 * number of `{ type: 'annotations', id, batch }` (the imported annotations, in order, a batch per
 * message so that the main thread decodes them in several short tasks rather than one long one),
 * then `{ type: 'result', id, ok: true, result }` with the rest of the result (its annotations
 * left empty), or `{ type: 'result', id, ok: false, error }` with what the converter threw.
 */
import { parentPort } from 'node:worker_threads';
import {
  formats,
  InputTooLargeError,
  UnsafeInputError,
  type FormatName,
  type ImportContext,
  type ImportedAnnotation,
  type ImportResult,
  type Problem,
} from '../../docs-model/formats/index.ts';

export interface ParseRequest {
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

export type ParseReply =
  | { type: 'annotations'; id: number; batch: ImportedAnnotation[] }
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
  port.on('message', (request: ParseRequest) => {
    let result: ImportResult;
    try {
      result = formats[request.format].parse(new Uint8Array(request.body), request.ctx);
    } catch (err) {
      port.postMessage({ type: 'result', id: request.id, ok: false, error: asData(err) } satisfies ParseReply);
      return;
    }
    const all = result.content.annotations;
    for (let at = 0; at < all.length; at += BATCH) {
      port.postMessage({ type: 'annotations', id: request.id, batch: all.slice(at, at + BATCH) } satisfies ParseReply);
    }
    port.postMessage({ type: 'result', id: request.id, ok: true, result: { ...result, content: { ...result.content, annotations: [] } } } satisfies ParseReply);
  });
}
