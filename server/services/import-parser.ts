/**
 * Parsing an uploaded file off the event loop. Unzipping, parsing and checking a 10 000-box import
 * held the loop for ~0.3-1 s, and every socket of every document waited meanwhile
 * (docs/formats.md, "Safety limits"). The converters of docs-model/formats are pure, so they run
 * in one long-lived worker thread (import-parse-thread.ts) and hand back plain data; only the Yjs
 * write of the result stays on the main thread, where the document is.
 *
 *   const parser = createImportParser({ logger })
 *   const result = await parser.parse('coco', body, ctx) // throws what the converter threw
 *   …
 *   await parser.close()
 *
 * The converter's errors come back as the same classes with the same fields (InputTooLargeError,
 * UnsafeInputError), so the routes map them exactly as before. The body is transferred, not
 * copied, when it owns its buffer: the caller must not use it afterwards. Requests run one at a
 * time, in order (persistence/thread-jobs.ts): the worker starts on the first request, one that
 * dies (out of memory, say) fails what it was parsing and is replaced on the next, and one left
 * idle for `idleMs` is ended, as its heap keeps what its parses left.
 */
import {
  formats,
  InputTooLargeError,
  UnsafeInputError,
  type FormatName,
  type ImportContext,
  type ImportedAnnotation,
  type ImportResult,
} from '../../docs-model/formats/index.ts';
import { refusedByLayout } from '../../docs-model/formats/safe-zip.ts';
import { ThreadJobs } from '../../persistence/thread-jobs.ts';
import { startBundledThread, transferableBuffer } from '../../persistence/worker-thread.ts';
import type { Logger } from '../../shared/logger.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import { unpackDetectionsInSlices } from './detection-columns.ts';
import type { DetectionsRequest, ParsedDetections, ParseMessage, ParseReply, ParseRequest, ThrownError } from './import-parse-thread.ts';

/** A detections file as the worker read it. */
export type DetectionsFile = Omit<ParsedDetections, 'detections'> & { detections: DetectionRecord[] };

export interface ImportParser {
  /** What `formats[format].parse(body, ctx)` returns or throws, computed in the worker. */
  parse(format: FormatName, body: Uint8Array, ctx: ImportContext): Promise<ImportResult>;
  /**
   * A run's detections file, read by `parseMotDetections` or `parseDetectionsCsv` in the worker:
   * the detections (none when there is an error) and the problems found. Throws what the MOT reader
   * threw (InputTooLargeError, UnsafeInputError for a zip).
   */
  parseDetections(format: DetectionsRequest['format'], body: Uint8Array, ctx: DetectionsRequest['ctx']): Promise<DetectionsFile>;
  /** Counters for tests: workers started so far, and ended once idle. */
  stats(): { workersStarted: number; workersEnded: number };
  /** Fails pending parses and stops the worker. Idempotent. */
  close(): Promise<void>;
}

/** Largest upload whose zip layout is checked on the main thread (a few thousand entries at most). */
const LAYOUT_CHECK_HERE_BYTES = 256 * 1024;

export class ImportParserClosedError extends Error {
  readonly code = 'import_parser_closed';
  override readonly name = 'ImportParserClosedError';
}

/** The converter's error, rebuilt from the data the worker sent. */
export function rebuilt(error: ThrownError): Error {
  if (error.kind === 'too_large') return new InputTooLargeError(error.code, error.message, error.place, error.limit, error.unit);
  if (error.kind === 'unsafe') return new UnsafeInputError(error.problems);
  const err = new Error(error.message);
  err.name = error.name;
  if (error.stack !== undefined) err.stack = error.stack;
  return err;
}

export function createImportParser(opts: { logger?: Logger; idleMs?: number } = {}): ImportParser {
  /** Each job's state: the annotations its batches brought so far. */
  const jobs: ThreadJobs<ImportResult | ParsedDetections, ImportedAnnotation[]> = new ThreadJobs(
    {
      name: 'import parse',
      start: () => startBundledThread('import-parse-thread', new URL('.', import.meta.url)),
      closed: () => new ImportParserClosedError('the import parser is closed'),
      ...opts,
    },
    (reply: ParseReply, thread) => {
      const annotations = jobs.state(reply.id);
      if (!annotations) return;
      if (reply.type === 'detections') jobs.resolve(reply.id, reply.parsed);
      else if (reply.type === 'annotations') {
        for (const a of reply.batch) annotations.push(a);
        // One batch per task: the next is sent only now (import-parse-thread.ts, "Protocol").
        thread.postMessage({ type: 'more', id: reply.id } satisfies ParseMessage);
      } else if (!reply.ok) jobs.reject(reply.id, rebuilt(reply.error));
      else jobs.resolve(reply.id, { ...reply.result, content: { ...reply.result.content, annotations } });
    },
  );

  return {
    parse(format, body, ctx) {
      // A small zip refused from its layout (the overlap zip bomb: ~100 kB) is refused before
      // anything is inflated: the converter is as quick here as in the worker, and no worker
      // starts for it (a cold one took 150-220 ms of the first bomb's answer under bench:stalls,
      // against 10-20 ms). Only small ones: reading a directory of 10 000 entries took 35-70 ms
      // before the JIT warmed up, too long for this thread.
      if (body.byteLength <= LAYOUT_CHECK_HERE_BYTES && formats[format].importTypes.includes('application/zip') && refusedByLayout(body)) {
        try {
          return Promise.resolve(formats[format].parse(body, ctx));
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
      return jobs.run((thread, id) => {
        const buffer = transferableBuffer(body);
        thread.postMessage({ type: 'parse', id, format, body: buffer, ctx } satisfies ParseRequest, [buffer]);
      }, []) as Promise<ImportResult>;
    },
    async parseDetections(format, body, ctx) {
      const parsed = (await jobs.run((thread, id) => {
        const buffer = transferableBuffer(body);
        thread.postMessage({ type: 'detections', id, format, body: buffer, ctx } satisfies DetectionsRequest, [buffer]);
      }, [])) as ParsedDetections;
      return { ...parsed, detections: await unpackDetectionsInSlices(parsed.detections) };
    },
    stats: () => jobs.stats(),
    close: () => jobs.close(),
  };
}
