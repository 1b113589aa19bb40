/**
 * Ground truth in and out: `GET /api/sessions/:id/export`, `GET /api/projects/:id/export`
 * and `POST /api/sessions/:id/import`, over the pure converters of `docs-model/formats`.
 *
 * Exports stream: the session is read once (its keyframes, not its frames), then the converter's
 * generator feeds the response as the socket drains, so memory does not grow with frame count.
 * `X-Annosync-Loss` must precede the body, so it comes from a cheap first pass (`exportLossSteps`,
 * run in slices: the exporters' own counters over the frame walk, no serialisation or compression);
 * zips still carry the exporter's `loss.json`, and `?report=true` answers the full report instead.
 *
 * Imports are all or nothing: the body is parsed and checked, then written with ONE `writeSession`
 * in the live document (`services/session-imports.ts`: connected annotators see it at once; the
 * answer follows the commit). Any problem, from the file or from the document's rules, is a 422
 * listing every one, and nothing is written. `dryRun` applies the same write to a copy of the document.
 */
import { Readable } from 'node:stream';
import type { z } from 'zod';
import { DocModelError, type WriteSessionResult } from '../../../docs-model/index.ts';
import {
  emptyLoss,
  exportLossSteps,
  exportNativeProject,
  formats,
  InputTooLargeError,
  lossSummary,
  UnsafeInputError,
  type ExportOptions,
  type ExportSession,
  type FormatEntry,
  type FormatName,
  type ImportedContent,
  type LossReport,
  type Problem,
  type SessionContent,
  type ZipEncoder,
} from '../../../docs-model/formats/index.ts';
import { PayloadTooLargeError, ValidationError } from '../../base/errors.ts';
import { actorOf, requireRole, sessionRole } from '../access.ts';
import { readRaw, type BodyLimits } from '../body.ts';
import { findProject } from '../../services/records.ts';
import { readSessionContent } from '../../services/session-documents.ts';
import { importIntoSession, readImportContext, type ImportPlan } from '../../services/session-imports.ts';
import { type Services } from '../../services/services.ts';
import { ExportQuery, ImportAnswer, ImportQuery, LossReportBody, ProjectExportQuery } from '../format-schemas.ts';
import { defineRoute, type Reply, type Route } from '../route.ts';
import { zipChunksNative } from '../../http/zip-writer.ts';
import { finishInSlices, inSlices } from '../../base/loop-slices.ts';
import { ProjectParams, SessionParams } from '../schemas.ts';

const tag = 'formats';

/**
 * Export zips in ~16 KiB chunks: 64 KiB of deflated label text is ~640 KiB of text to produce,
 * 10-25 ms of work between two turns of the event loop; a quarter of that fits the slices.
 */
const zipInSmallChunks: ZipEncoder = (entries) => zipChunksNative(entries, 1, 16 * 1024);
const MiB = 1024 * 1024;

/**
 * Largest import body per content type. JSON: a 900 000-box COCO file is ~150 MB, but an import
 * that size belongs in several requests; zips: the inflated bytes are capped again by readZip;
 * XML: one VOC file, the same cap safe-xml applies to its text.
 */
export const IMPORT_LIMITS: BodyLimits = {
  'application/json': 128 * MiB,
  'application/zip': 64 * MiB,
  'application/xml': 4 * MiB,
  'text/xml': 4 * MiB,
  // A bare MOT gt.txt / det.txt: ~45 bytes a row, so ~1.4 million rows.
  'text/plain': 64 * MiB,
};

const limitsFor = (entry: FormatEntry): BodyLimits =>
  Object.fromEntries(entry.importTypes.map((type) => [type, IMPORT_LIMITS[type] ?? 4 * MiB]));

export const exportOptions = (q: z.output<typeof ExportQuery>): ExportOptions => {
  const opts: ExportOptions = {};
  if (q.keyframesOnly) opts.keyframesOnly = true;
  if (q.allFrames) opts.allFrames = true;
  if (q.vocOffset) opts.vocOffset = q.vocOffset;
  // The schema let these through for ultralytics only; zero for both is the train-only layout.
  if (q.valFraction || q.testFraction) opts.splits = { valFraction: q.valFraction ?? 0, testFraction: q.testFraction ?? 0 };
  return opts;
};

/** The file as a streamed reply, or the loss report with `report`. */
export function exportReply(
  format: FormatName,
  baseName: string,
  loss: LossReport,
  report: boolean | undefined,
  chunks: () => Iterable<Uint8Array>,
): Reply {
  const summary = lossSummary(loss);
  if (report) return { body: { ...loss, summary }, headers: { 'X-Annosync-Loss': summary } };
  const entry = formats[format];
  return {
    headers: {
      'Content-Type': entry.zip ? entry.contentType : `${entry.contentType}; charset=utf-8`,
      'Content-Disposition': `attachment; filename="${entry.fileName(baseName)}"`,
      'X-Annosync-Loss': summary,
      'Cache-Control': 'no-store',
    },
    // objectMode off: chunks are bytes, and the stream buffers ~16 KiB ahead of the socket. In
    // slices: a loopback socket takes a whole export in one synchronous pull otherwise.
    body: Readable.from(inSlices(chunks()), { objectMode: false }),
  };
}

/** Converter errors as HTTP: sizes past a limit → 413, unsafe input → 422 with its problems. */
function fromConverterError(err: unknown): unknown {
  if (err instanceof InputTooLargeError) {
    const limit = { bytes: 'limitBytes', entries: 'limitEntries', characters: 'limitCharacters' }[err.unit];
    return new PayloadTooLargeError(err.message, { code: err.code, place: err.place, [limit]: err.limit });
  }
  if (err instanceof UnsafeInputError) return refused(err.problems);
  return err;
}

const refused = (errors: Problem[]): ValidationError =>
  new ValidationError(
    `the file was not imported: ${errors.length} problem(s)${errors[0] ? `, first: ${errors[0].message} (${errors[0].place})` : ''}`,
    errors.map(({ code, message, place }) => ({ code, message, place })),
    'import_invalid',
  );

/** writeSession's own refusals (frame outside the video, keyframe clash, …), each placed by annotation. */
function fromWriteError(err: unknown, content: ImportedContent): unknown {
  if (!(err instanceof DocModelError) || err.code !== 'invalid_content') return err;
  const list = (err.details as { errors?: Array<{ part: string; index?: number; name?: string; code: string; field?: string; message: string }> }).errors ?? [];
  return refused(
    list.map((e) => {
      const id = e.part === 'annotations' && e.index !== undefined ? content.annotations[e.index]?.id : undefined;
      const at = e.index !== undefined ? `/${e.part}/${e.index}` : e.name !== undefined ? `/${e.part}/${e.name}` : `/${e.part}`;
      return { code: e.code, message: id === undefined ? e.message : `annotation ${id}: ${e.message}`, place: e.field ? `${at}/${e.field}` : at };
    }),
  );
}

/** A session's export (live, or a release's frozen content: the same bytes for the same content). */
export async function sessionExport(content: SessionContent, baseName: string, query: z.output<typeof ExportQuery>): Promise<Reply> {
  const opts = exportOptions(query);
  const loss = await finishInSlices(exportLossSteps(query.format, [content], opts));
  return exportReply(query.format, baseName, loss, query.report, () => formats[query.format].export(content, opts, { loss: emptyLoss(query.format), zip: zipInSmallChunks }));
}

/** A project's export from its sessions' contents, in the project's session order (live, or a project release). */
export async function projectExport(
  projectId: string,
  sessions: ReadonlyArray<{ sessionId: string; content: SessionContent }>,
  baseName: string,
  query: z.output<typeof ExportQuery>,
): Promise<Reply> {
  const perVideo = new Map<string, number>();
  for (const s of sessions) perVideo.set(s.content.meta.videoId, (perVideo.get(s.content.meta.videoId) ?? 0) + 1);
  // Frame names are prefixed by video, and by session too when a video has several.
  const parts: ExportSession[] = sessions.map(({ sessionId, content }) => {
    const videoId = content.meta.videoId;
    return { content, videoPrefix: perVideo.get(videoId)! > 1 ? `${videoId}/${sessionId}/` : `${videoId}/` };
  });
  const contents = sessions.map((s) => s.content);
  const opts = exportOptions(query);
  const loss = await finishInSlices(exportLossSteps(query.format, contents, opts));
  return exportReply(query.format, baseName, loss, query.report, () =>
    query.format === 'json'
      ? exportNativeProject(parts, { ...opts, projectId }, { loss: emptyLoss('json') })
      : formats[query.format].exportProject(parts, opts, { loss: emptyLoss(query.format), zip: zipInSmallChunks }),
  );
}

export function formatRoutes(deps: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/export',
      tag,
      summary: 'Export a session as COCO, YOLO (Darknet), Ultralytics, Pascal VOC, MOTChallenge or native JSON',
      description:
        'Streams the file with Content-Disposition. Tracks expand to one box per frame (keyframesOnly=true: only drawn boxes). ' +
        'X-Annosync-Loss sums up what the format could not hold; report=true answers the full loss report as JSON instead. ' +
        'VOC coordinates are as-is (xmin = x, xmax = x + w) unless vocOffset=1 (devkit, 1-based xmin/ymin). ' +
        'Ultralytics with valFraction/testFraction: labels/<split>/…, the video split into contiguous blocks (train, then val, then test at the end); 400 with any other format. ' +
        'mot: gt/gt.txt (frame,id,x,y,w,h,not_ignored,class_id,visibility; frames 1-based, coordinates as stored) and gt/labels.txt; loss.json and report=true carry idMap, the MOT id of each track and lone box.',
      params: SessionParams,
      query: ExportQuery,
      responses: {
        200: { description: 'the file (application/json or application/zip), or the loss report with report=true', schema: LossReportBody },
      },
      errors: [404, 409],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ query, authorized: session }) => sessionExport(await readSessionContent(deps, session), `session-${session.id}`, query),
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/export',
      tag,
      summary: 'Export every session of a project in one file (COCO, YOLO, Ultralytics, Pascal VOC, MOTChallenge or native JSON)',
      description:
        'Frame names are prefixed by video (<videoId>/frame_000123; <videoId>/<sessionId>/… when a video has several sessions) so they never collide. ' +
        'COCO: one file with COCO-VID video_id and frame_id; YOLO: obj_train_data/<videoId>/…txt with one class list; Ultralytics: labels/train/<videoId>/…; ' +
        'VOC: Annotations/<videoId>/….xml and one image set; mot: <videoId>/gt/gt.txt with ids numbered on across sessions; json: every session in the native format. Same options and loss report as the session export. ' +
        'Ultralytics with valFraction/testFraction: labels/<split>/<videoId>/…, whole videos per split when the sessions are on two or more videos (blocks of the one video otherwise); 400 with any other format.',
      params: ProjectParams,
      query: ProjectExportQuery,
      responses: { 200: { description: 'the file, or the loss report with report=true', schema: LossReportBody } },
      errors: [404, 409],
      // The role first, as on every project route: a stranger gets 403 whether the project exists or not.
      authorize: async ({ params, ctx }) => {
        await requireRole(ctx, params.projectId, 'viewer');
        return findProject(deps, params.projectId);
      },
      handle: async ({ query, authorized: project }) => {
        const sessions = await deps.repos.sessions.listActive(project.id);
        const contents: SessionContent[] = [];
        for (const s of sessions) contents.push(await readSessionContent(deps, s));
        return projectExport(project.id, sessions.map((s, k) => ({ sessionId: s.id, content: contents[k]! })), `project-${project.id}`, query);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:sessionId/import',
      tag,
      summary: 'Import a COCO, YOLO, Ultralytics, Pascal VOC, MOTChallenge or native JSON file into a session (all or nothing)',
      description:
        'The body is the file: application/json for coco and json, application/zip for yolo, ultralytics and voc (application/xml or text/xml for one VOC file); mot takes a zip (gt/gt.txt, gt/labels.txt) or a bare gt.txt / det.txt as text/plain. ' +
        'mot: each track id becomes a track (a gap an outside keyframe), not_ignored = 0 rows are kept with ignored: true, boxes past the image edge are kept as written and flagged (warning box_past_edge, attribute pastImageEdge); other formats refuse or clip them. ' +
        `Limits: JSON ${IMPORT_LIMITS['application/json']! / MiB} MiB, zip ${IMPORT_LIMITS['application/zip']! / MiB} MiB, XML ${IMPORT_LIMITS['application/xml']! / MiB} MiB (413 past them; 415 for another type). ` +
        'Everything is checked before one document transaction: on any problem the answer is 422 listing every one (code, message, place) and the session is unchanged. ' +
        'merge upserts by annotation id (or track id + frame); replace swaps annotations and tracks (and, for json, labels). Labels the session lacks are added and reported, or refused with strictLabels=true. dryRun=true answers the same without changing anything.',
      params: SessionParams,
      query: ImportQuery,
      responses: { 200: { description: 'what was (or, with dryRun, would be) imported', schema: ImportAnswer } },
      errors: [404, 413, 415, 422],
      // The body is read by the handler (readRaw, limits by content type), after this.
      authorize: sessionRole(deps, 'manager'),
      handle: async ({ query, ctx, authorized: session }) => {
        const entry = formats[query.format];
        const { body } = await readRaw(ctx, limitsFor(entry));
        const known = await readImportContext(deps, session);
        let parsed;
        try {
          // In a worker thread: unzipping and parsing a large file would hold every socket's loop.
          parsed = await deps.importParser.parse(query.format, body, {
            ...(known.meta ? { meta: known.meta } : {}),
            labels: known.labels,
            strictLabels: query.strictLabels ?? false,
            ...(query.vocOffset ? { vocOffset: query.vocOffset } : {}),
          });
        } catch (err) {
          throw fromConverterError(err);
        }
        if (parsed.errors.length) throw refused(parsed.errors);
        const plan: ImportPlan = {
          content: parsed.content,
          mode: query.mode,
          native: query.format === 'json',
          keepPastEdge: query.format === 'mot',
          actor: actorOf(ctx),
        };
        let written: WriteSessionResult;
        try {
          written = await importIntoSession(deps, session, plan, { dryRun: query.dryRun ?? false });
        } catch (err) {
          throw fromWriteError(err, parsed.content);
        }
        const { created, updated, deleted } = written.annotations;
        if (!query.dryRun) {
          // After the commit the import answers on: the update log holds the change, not a transaction of ours.
          await deps.events.emit({
            projectId: session.projectId,
            type: 'import.completed',
            actor: plan.actor,
            data: { sessionId: session.id, format: query.format, mode: query.mode, imported: created, updated, deleted },
          });
          deps.dashboards.touch(session.projectId);
        }
        return {
          body: {
            format: query.format,
            mode: query.mode,
            dryRun: query.dryRun ?? false,
            frameRule: parsed.frameRule,
            imported: created,
            updated,
            skipped: parsed.content.annotations.length - created - updated,
            deleted,
            tracks: written.tracks,
            labelsAdded: parsed.content.addedLabels,
            warnings: parsed.warnings,
            errors: [],
          },
        };
      },
    }),
  ];
}
