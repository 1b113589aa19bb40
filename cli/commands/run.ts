/**
 * `annosync run`: a model's detections scored against the ground truth. Creates the run (on a
 * named release, or on the release the server makes for it), uploads the detections in chunks
 * with a progress bar, follows the run's Server-Sent Events, completes it and prints the
 * evaluation table, and the tracking table when the detections carry track ids.
 *
 *   annosync run --project p1 --video v1 --session s1 --model yolo@8.1 --detections dets.csv --release v3
 */
import cliProgress from 'cli-progress';
import type { LabelMetrics } from '../../docs-model/evaluation.ts';
import type { TrackingEvaluation } from '../../docs-model/tracking/index.ts';
import type { Context } from '../context.ts';
import { chunkBody, readDetections, lastFrame } from '../detections-file.ts';
import { UsageError, type Diagnostic } from '../errors.ts';
import { seg } from '../http.ts';
import { sessionRelease } from '../releases.ts';
import { readEvents } from '../sse.ts';
import { formatTable } from '../table.ts';
import { readInputFile } from './import.ts';

/** The server takes at most 50 000 detections per post (its MAX_BULK_DETECTIONS). */
export const MAX_CHUNK = 50_000;
/** How long the event stream may stay open after the run is completed. */
const FOLLOW_GRACE_MS = 10_000;

export interface RunOptions {
  project: string;
  video: string;
  session: string;
  model: string;
  detections: string;
  release?: string;
  chunkSize: number;
  clip?: boolean;
}

interface Run {
  id: string;
  status: string;
  totalFrames: number;
  processedFrames: number;
  groundTruth?: { releaseId: string; created?: boolean; name?: string };
}

export interface EvaluationBody {
  overall: LabelMetrics;
  perLabel: Record<string, LabelMetrics>;
  groundTruth?: { sessionId: string; releaseId?: string; contentHash?: string };
  tracking?: TrackingEvaluation;
}

export const parseModel = (text: string): { name: string; version: string } => {
  const at = text.lastIndexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  if (name.trim() === '') throw new UsageError(`--model '${text}' has no name: use NAME@VERSION`);
  return { name, version: at < 0 ? '' : text.slice(at + 1) };
};

export const evaluationTable = (e: EvaluationBody): string =>
  formatTable(
    ['label', 'tp', 'fp', 'fn', 'precision', 'recall', 'f1', 'ap50', 'ap'],
    [...Object.entries(e.perLabel), ['(overall)', e.overall] as const].map(([label, m]) => [label, m.tp, m.fp, m.fn, m.precision, m.recall, m.f1, m.ap50, m.ap]),
  );

/** CLEAR MOT and identity at the evaluation's IoU, HOTA over its α sweep; the tracking counts. */
export const trackingTable = (t: TrackingEvaluation): string =>
  formatTable(
    ['label', 'mota', 'motp', 'idf1', 'hota', 'deta', 'assa', 'loca', 'idsw', 'frag', 'mt', 'pt', 'ml'],
    [...Object.entries(t.perLabel), ['(overall)', t.overall] as const].map(([label, m]) => [
      label, m.mota, m.motp, m.idf1, m.hota, m.deta, m.assa, m.locA, m.idSwitches, m.fragmentations, m.mostlyTracked, m.partiallyTracked, m.mostlyLost,
    ]),
  );

/**
 * The server's warnings over all chunks, one per kind: "N rows …" counts added, the first place
 * kept (each chunk is summarised on its own: docs-model/formats/mot-import.ts).
 */
export function mergeWarnings(list: readonly Diagnostic[]): Diagnostic[] {
  const byCode = new Map<string, { rows: number; what: string; place: string } | Diagnostic>();
  for (const w of list) {
    const m = /^(\d+) rows? (.*)$/.exec(w.message);
    const seen = byCode.get(w.code);
    if (m && (seen === undefined || 'rows' in seen)) byCode.set(w.code, { rows: (seen?.rows ?? 0) + Number(m[1]), what: m[2]!, place: seen?.place ?? w.place });
    else if (seen === undefined) byCode.set(w.code, w);
  }
  return [...byCode].map(([code, w]) => ('rows' in w ? { code, message: `${w.rows} ${w.rows === 1 ? 'row' : 'rows'} ${w.what}`, place: w.place } : w));
}

export async function runCommand(ctx: Context, o: RunOptions): Promise<void> {
  if (!Number.isSafeInteger(o.chunkSize) || o.chunkSize < 1 || o.chunkSize > MAX_CHUNK) throw new UsageError(`--chunk-size must be an integer in 1…${MAX_CHUNK}`);
  const model = parseModel(o.model);
  const file = readDetections(await readInputFile(o.detections), o.detections);
  if (file.format === 'mot' && o.clip) throw new UsageError('--clip does not apply to MOTChallenge tracker output: its boxes past the image edge are kept as written, as MOT scoring wants');
  const release = o.release === undefined ? undefined : await sessionRelease(ctx.api, o.session, o.release);
  const run = await ctx.api.json<Run>(
    'POST',
    `/api/projects/${seg(o.project)}/test-runs`,
    { videoId: o.video, sessionId: o.session, model, ...(release ? { groundTruth: { releaseId: release.id } } : {}) },
    `create a run in project ${o.project}`,
  );
  if (!ctx.json) ctx.note(`run ${run.id} created${run.groundTruth ? ` on release ${run.groundTruth.name ?? run.groundTruth.releaseId}${run.groundTruth.created ? ' (made now)' : ''}` : ''}`);

  // Follow the run's events from the start: the stream ends after the event that finishes it.
  let serverFrames = 0;
  const stream = new AbortController();
  const followed = (async () => {
    const res = await ctx.api.request('GET', `/api/test-runs/${seg(run.id)}/events`, { signal: stream.signal, what: `follow run ${run.id}` });
    for await (const e of readEvents(res)) {
      const data = JSON.parse(e.data) as { run?: Run };
      if (data.run) serverFrames = data.run.processedFrames;
    }
  })().catch((err: unknown) => {
    if (!stream.signal.aborted) throw err;
  });

  const total = run.totalFrames;
  const bar = ctx.json
    ? null
    : new cliProgress.SingleBar(
        { format: 'upload [{bar}] {value}/{total} detections | run at frame {frames}/{totalFrames}', stream: ctx.io.stderr, hideCursor: false, noTTYOutput: false },
        cliProgress.Presets.legacy,
      );
  bar?.start(file.items.length, 0, { frames: 0, totalFrames: total });
  const query = `?format=${file.format}${o.clip ? '&clip=true' : ''}`;
  let highest = -1;
  /** What the server stored with a remark (MOT: a confidence outside [0, 1], a box past the edge). */
  let warnings: Diagnostic[] = [];
  try {
    for (let k = 0; k < file.items.length; k += o.chunkSize) {
      const chunk = file.items.slice(k, k + o.chunkSize);
      const res = await ctx.api.request('POST', `/api/test-runs/${seg(run.id)}/detections${query}`, { ...chunkBody(file, chunk), what: `upload detections ${k}…${k + chunk.length - 1}` });
      warnings = mergeWarnings([...warnings, ...(((await res.json()) as { warnings?: Diagnostic[] }).warnings ?? [])]);
      highest = Math.max(highest, lastFrame(file, chunk));
      const processed = Math.min(total, highest + 1);
      await ctx.api.json('POST', `/api/test-runs/${seg(run.id)}/progress`, { processedFrames: processed, totalFrames: total, status: 'running' }, `report progress of run ${run.id}`);
      bar?.update(k + chunk.length, { frames: Math.max(serverFrames, processed), totalFrames: total });
    }
    await ctx.api.json('POST', `/api/test-runs/${seg(run.id)}/progress`, { processedFrames: total, totalFrames: total, status: 'completed' }, `complete run ${run.id}`);
  } catch (err) {
    bar?.stop();
    stream.abort();
    // Best effort: a run left 'running' by a failed upload would look alive on every dashboard.
    await ctx.api.json('POST', `/api/test-runs/${seg(run.id)}/progress`, { processedFrames: Math.max(0, Math.min(total, highest + 1)), totalFrames: total, status: 'failed', message: (err as Error).message.slice(0, 1000) }).catch(() => undefined);
    throw err;
  }
  // The stream ends with the event that completes the run; a proxy that holds it open must not hang the job.
  const guard = setTimeout(() => stream.abort(), FOLLOW_GRACE_MS);
  await followed;
  clearTimeout(guard);
  bar?.update(file.items.length, { frames: total, totalFrames: total });
  bar?.stop();
  const evaluation = await ctx.api.json<EvaluationBody>('GET', `/api/test-runs/${seg(run.id)}/evaluation`, undefined, `evaluate run ${run.id}`);
  if (ctx.json) return ctx.emit({ run: { ...run, status: 'completed' }, detections: file.items.length, ...(warnings.length ? { warnings } : {}), evaluation });
  // The server names a MOT body tracker.txt; its lines are the file's (chunkBody).
  for (const w of warnings) ctx.note(`warning: ${w.message} (${w.place.replace(/^tracker\.txt(?=:)/, o.detections)})`);
  ctx.out(`run ${run.id}: ${file.items.length} detections${evaluation.groundTruth?.releaseId ? ` against release ${evaluation.groundTruth.releaseId} (${evaluation.groundTruth.contentHash ?? ''})` : ''}`);
  ctx.out(evaluationTable(evaluation));
  if (evaluation.tracking) ctx.out(`\ntracking (CLEAR MOT and identity at IoU ${evaluation.tracking.iouThreshold}, HOTA over α 0.05…0.95):\n${trackingTable(evaluation.tracking)}`);
}
