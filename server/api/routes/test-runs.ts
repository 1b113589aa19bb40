/**
 * `/api/projects/:projectId/test-runs` and `/api/test-runs/:testRunId[/progress|/detections|
 * /cancel|/evaluation|/events]`.
 *
 * Roles: reading (runs, evaluation, events) needs viewer. Creating a run and posting its progress,
 * detections or cancellation needs annotator: a model runner (a CI job) is given an annotator
 * token on the project — it adds results, as annotators add annotations, and cannot change the
 * project, its sessions or its imports (manager). Managers and admins can do all of it. A caller
 * with no role on a run's project is told the run does not exist (404), as for a missing id.
 *
 * `GET …/events` is Server-Sent Events: one `data:` line per change of the run, JSON
 * `{ type, run }`, with `id:` = the run's revision; `Last-Event-ID` (or `?lastEventId=`) resumes
 * after that id; a `: heartbeat` comment every `heartbeatMs` (15 s by default); the stream ends
 * after the event that finishes the run (at once for a run that has ended).
 */
import type { Context } from 'koa';
import { getLabels, listTracks, progressOf, type TestRunView } from '../../../docs-model/index.ts';
import { labelOrder } from '../../../docs-model/formats/frame-walk.ts';
import type { TestRunRecord } from '../../../persistence/repositories/test-runs.ts';
import { NotFoundError } from '../../base/errors.ts';
import { actorOf, projectRole, requireRoleOnFound, type Role } from '../access.ts';
import { findProject, findSession, findVideo, paged } from '../../services/records.ts';
import { readSessionDoc } from '../../services/session-documents.ts';
import { type Services } from '../../services/services.ts';
import { motDetections, toDetections } from '../detection-input.ts';
import { readRaw } from '../body.ts';
import { defineRoute, type Route } from '../route.ts';
import { ProjectParams, pageOf } from '../schemas.ts';
import { isFinished, type RunEvent } from '../../followers/test-run-events.ts';
import {
  DETECTIONS_BODY_LIMIT,
  DetectionsAccepted,
  DetectionsBody,
  DetectionsQuery,
  Evaluation,
  EvaluationQuery,
  EventsQuery,
  PromoteAnswer,
  PromoteBody,
  PromoteQuery,
  TestRun,
  TestRunCreate,
  TestRunListQuery,
  TestRunParams,
  TestRunProgress,
} from '../test-run-schemas.ts';
import { toBody } from '../../services/test-runs/run-body.ts';
import { UnsupportedMediaTypeError } from '../../base/errors.ts';
import { CSV_DETECTION_LIMITS, csvDetections } from '../detections-csv-input.ts';

const tag = 'test-runs';

const viewOf = (run: TestRunRecord): TestRunView => {
  const { createdBy: _createdBy, ...rest } = run;
  return { ...rest, progress: progressOf(run.processedFrames, run.totalFrames) };
};

/**
 * A progress answer as bytes, made once per state: the posts of one run received together are
 * written to its document as one change and all answer with that same record (test-run-service.ts),
 * so under load one serialisation serves many answers.
 */
const answers = new WeakMap<TestRunRecord, Buffer>();
const JSON_TYPE = { 'Content-Type': 'application/json; charset=utf-8' };
const answerOf = (run: TestRunRecord): Buffer => {
  let bytes = answers.get(run);
  if (!bytes) answers.set(run, (bytes = Buffer.from(JSON.stringify(toBody(run)))));
  return bytes;
};

const lastEventIdOf = (header: string, fallback: number | undefined): number | undefined => {
  const n = Number(header);
  return header !== '' && Number.isSafeInteger(n) && n >= 0 ? n : fallback;
};

/** What a MOT tracker output upload may be. */
const MOT_DETECTION_LIMITS = { 'text/plain': DETECTIONS_BODY_LIMIT, 'application/zip': DETECTIONS_BODY_LIMIT };

export function testRunRoutes(deps: Services): Route[] {
  const { testRuns: service, runEvents: events } = deps;
  /**
   * `authorize` of the `/api/test-runs/:testRunId` routes: 404 for no such run and for a run whose
   * project the caller has no role on (access.ts), 403 below `role`; the run is the handler's `authorized`.
   */
  const runRole =
    (role: Role) =>
    ({ params, ctx }: { params: { testRunId: string }; ctx: Context }): Promise<TestRunRecord> =>
      requireRoleOnFound(ctx, role, () => service.find(params.testRunId), () => new NotFoundError(`no test run '${params.testRunId}'`));

  return [
    defineRoute({
      method: 'post',
      path: '/api/projects/:projectId/test-runs',
      tag,
      summary: 'Start a test run of a model against the ground truth of a session',
      description:
        'The run starts queued; its live document is test-run:<id> (read-only for every client). 422 when the session annotates another video; 409 for a taken id. Needs annotator.',
      params: ProjectParams,
      body: TestRunCreate,
      responses: { 201: { description: 'the run', schema: TestRun } },
      errors: [403, 404, 409],
      authorize: projectRole('annotator'),
      handle: async ({ params, body, ctx }) => {
        const run = await service.create(params.projectId, body, actorOf(ctx));
        return { status: 201, body: toBody(run), headers: { Location: `/api/test-runs/${run.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/test-runs',
      tag,
      summary: "List the project's test runs, oldest first",
      params: ProjectParams,
      query: TestRunListQuery,
      responses: { 200: { description: 'one page of runs', schema: pageOf(TestRun) } },
      errors: [403, 404],
      authorize: projectRole('viewer'),
      handle: async ({ params, query }) => {
        await findProject(deps, params.projectId);
        const page = await paged(() =>
          service.list(params.projectId, {
            limit: query.limit,
            ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
            ...(query.status === undefined ? {} : { status: query.status }),
            ...(query.sessionId === undefined ? {} : { sessionId: query.sessionId }),
          }),
        );
        return { body: { items: page.items.map(toBody), nextCursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/test-runs/:testRunId',
      tag,
      summary: 'Get a test run',
      params: TestRunParams,
      responses: { 200: { description: 'the run', schema: TestRun } },
      errors: [403, 404],
      authorize: runRole('viewer'),
      handle: ({ authorized: run }) => ({ body: toBody(run) }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/test-runs/:testRunId/progress',
      tag,
      summary: 'Report progress (and status, message, metrics) of a run',
      description:
        'Status only moves forward (409 otherwise, and for a run that has ended). processedFrames never goes back: a late post with a smaller count leaves it. Completing the run stores its evaluation. Answers once every watcher of test-run:<id> has been sent the change and it is stored. Progress posts of a running run that arrive together are one change (one revision, one event), and each answers with it.',
      params: TestRunParams,
      body: TestRunProgress,
      responses: { 200: { description: 'the run', schema: TestRun } },
      errors: [403, 404, 409],
      authorize: runRole('annotator'),
      handle: async ({ body, ctx, authorized: run }) => ({ body: answerOf(await service.progress(run, body, actorOf(ctx))), headers: JSON_TYPE }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/test-runs/:testRunId/detections',
      tag,
      summary: 'Add detections to a run (all or nothing)',
      description:
        "422 naming [index].field: a frame outside the video, a box that is not finite, has w or h <= 0 or leaves the frame (clip=true clips it), a score outside [0, 1], a track with two boxes of one label on one frame (repeated_track_box, also when an earlier upload of the run has the first). format=coco takes COCO results: image_id = frame + 1, category_id = the label's id in the session's COCO export, track_id kept as trackId. " +
        'format=csv takes text/csv or text/tab-separated-values with a header frame,label,x,y,w,h,score[,trackId,detectionId], its problems placed detections.csv:line:column. ' +
        'format=mot takes MOTChallenge tracker output or det.txt as text/plain (or a zip): frames 1-based, the id as trackId (-1: none), class_id the label\'s position in that order, boxes past the image edge kept as written and listed in warnings (MOT only); 422 naming file:line:field. 409 once the run has ended.',
      params: TestRunParams,
      query: DetectionsQuery,
      body: DetectionsBody,
      bodyLimitBytes: DETECTIONS_BODY_LIMIT,
      responses: { 200: { description: 'how many were stored, and the run', schema: DetectionsAccepted } },
      errors: [403, 404, 409],
      authorize: runRole('annotator'),
      rawBody: {
        // CSV by its content type (a CSV sent as application/json is then malformed JSON, 400);
        // MOT by the query, as text/plain or a zip.
        types: { ...CSV_DETECTION_LIMITS, ...MOT_DETECTION_LIMITS },
        when: (q) => q.format === 'mot',
        description: 'format=csv: a CSV or TSV with a header; format=mot: a MOTChallenge tracker output or det.txt (frame,id,x,y,w,h,conf,…) as text/plain, or a zip holding one',
      },
      handle: async ({ query, body, ctx, authorized: run }) => {
        const video = await findVideo(deps, run.videoId);
        if (query.format === 'csv') {
          if (body !== undefined) throw new UnsupportedMediaTypeError('format=csv takes text/csv or text/tab-separated-values');
          const list = await csvDetections(deps.importParser, (await readRaw(ctx, CSV_DETECTION_LIMITS)).body, { video, clip: query.clip ?? false });
          return { body: { accepted: list.length, run: toBody(await service.addDetections(run, list, actorOf(ctx))) } };
        }
        if (body === undefined && query.format !== 'mot') {
          throw new UnsupportedMediaTypeError('format=csv takes text/csv or text/tab-separated-values; format=mot text/plain or a zip; other formats application/json');
        }
        let labels: string[] | undefined;
        if (query.format === 'coco' || query.format === 'mot') {
          const session = await findSession(deps, run.sessionId);
          labels = await readSessionDoc(deps, session, (ydoc, index) => {
            const meta = { sessionId: session.id, projectId: session.projectId, videoId: video.id, width: video.width, height: video.height, fps: video.fps, frameCount: video.frameCount };
            return labelOrder({ meta, labels: getLabels(ydoc), tracks: listTracks(ydoc), annotations: [...index.all()] });
          });
        }
        if (query.format === 'mot') {
          const raw = await readRaw(ctx, MOT_DETECTION_LIMITS);
          const { detections, warnings } = await motDetections(deps.importParser, raw.body, { video, labels: labels ?? [] });
          const updated = await service.addDetections(run, detections, actorOf(ctx));
          return { body: { accepted: detections.length, run: toBody(updated), warnings } };
        }
        const detections = await toDetections(body, { format: query.format, video, ...(labels ? { labels } : {}), clip: query.clip ?? false });
        const updated = await service.addDetections(run, detections, actorOf(ctx));
        return { body: { accepted: detections.length, run: toBody(updated) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/test-runs/:testRunId/promote',
      tag,
      summary: "Turn the run's detections into draft annotations (pre-labels) in its session",
      description:
        "Through the live document (connected annotators see them at once; the history records origin model): source 'model', status draft, detectionId set (the detection's id, else <runId>:<index>), attributes.model = { name, version, score }. " +
        'Detections with a track id become tracks (keyframes at every frame, or with keyframes=auto only where the motion departs from linear interpolation by more than 1 px; a gap or the end is an outside keyframe). ' +
        'Idempotent: promoting again creates nothing new. A promoted draft nobody validated is ground truth like any other draft. Needs annotator.',
      params: TestRunParams,
      query: PromoteQuery,
      body: PromoteBody,
      responses: { 200: { description: 'what was written', schema: PromoteAnswer } },
      errors: [403, 404],
      authorize: runRole('annotator'),
      handle: async ({ query, body, ctx, authorized: run }) => {
        const request = {
          mode: body.mode,
          keyframes: query.keyframes,
          ...(body.minScore === undefined ? {} : { minScore: body.minScore }),
          ...(body.frames === undefined ? {} : { frames: body.frames }),
          ...(body.labels === undefined ? {} : { labels: body.labels }),
        };
        return { body: await deps.promote(run, request, actorOf(ctx)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/test-runs/:testRunId/cancel',
      tag,
      summary: 'Cancel a run',
      description: '409 when the run has ended already.',
      params: TestRunParams,
      responses: { 200: { description: 'the run', schema: TestRun } },
      errors: [403, 404, 409],
      authorize: runRole('annotator'),
      handle: async ({ ctx, authorized: run }) => ({ body: toBody(await service.cancel(run, actorOf(ctx))) }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/test-runs/:testRunId/evaluation',
      tag,
      summary: "The run's detection metrics against its session's ground truth",
      description:
        'Computed now, from the detections stored so far and the live session (tracks expanded per frame, rejected annotations left out): tp, fp, fn, precision, recall, f1 at iouThreshold; AP at IoU 0.5 and averaged over 0.50:0.05:0.95 as pycocotools computes them; per label and overall; with the verdicts of linked detections. ' +
        'When detections carry track ids, tracking adds CLEAR MOT (MOTA, MOTP as mean IoU), identity (IDF1, IDP, IDR) at iouThreshold and HOTA (DetA, AssA, LocA over α = 0.05…0.95), as py-motmetrics and TrackEval compute them.',
      params: TestRunParams,
      query: EvaluationQuery,
      responses: { 200: { description: 'the evaluation', schema: Evaluation } },
      errors: [403, 404],
      authorize: runRole('viewer'),
      handle: async ({ query, authorized: run }) => ({
        body: await service.evaluate(run, query.iouThreshold === undefined ? {} : { iouThreshold: query.iouThreshold }),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/test-runs/:testRunId/events',
      tag,
      summary: "The run's changes as Server-Sent Events",
      description:
        'One event per change: `id:` the run revision, `data:` JSON { type, run } with type created | progress | status | detections | evaluation | snapshot. Send Last-Event-ID (or lastEventId) to resume after it; a client further behind than the server keeps gets the current state as one snapshot. A `: heartbeat` comment every heartbeatMs. Ends after the event that finishes the run.',
      params: TestRunParams,
      query: EventsQuery,
      responses: { 200: { description: 'an event stream', schema: TestRun, contentType: 'text/event-stream' } },
      errors: [403, 404],
      authorize: runRole('viewer'),
      handle: async ({ query, ctx, authorized: run }) => {
        const after = lastEventIdOf(ctx.get('Last-Event-ID'), query.lastEventId);
        // Written to the response directly: Koa's body piping reports every client that goes away
        // as a premature close, which for an event stream is the normal way to end.
        const res = ctx.res;
        ctx.respond = false;
        res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
        res.socket?.setNoDelay(true);
        let sent = after ?? -1;
        let ended = false;
        const send = (event: RunEvent): void => {
          if (ended || event.id <= sent) return;
          sent = event.id;
          res.write(`id: ${event.id}\ndata: ${JSON.stringify({ type: event.type, run: event.run })}\n\n`);
          if (isFinished(event.run)) finish();
        };
        // Subscribed before reading the state, so a change made in between is not missed.
        const unsubscribe = events.subscribe(run.id, send);
        const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), query.heartbeatMs);
        heartbeat.unref();
        // Holding the document keeps it loaded, so changes arriving from other processes reach the ring.
        let release: (() => void) | null = null;
        function finish(): void {
          if (ended) return;
          ended = true;
          clearInterval(heartbeat);
          unsubscribe();
          release?.();
          release = null;
          res.end();
        }
        res.on('close', finish);
        res.write('retry: 1000\n\n');
        try {
          const held = await service.hold(run.id);
          if (ended) held();
          else release = held;
          const current = await service.find(run.id);
          // A client resuming gets what it missed that is still kept; a new one starts from now.
          if (after !== undefined) for (const event of events.since(run.id, sent)) send(event);
          if (current.revision > sent) send({ id: current.revision, type: 'snapshot', run: viewOf(current) });
          if (isFinished(current) && sent >= current.revision) finish();
        } catch (err) {
          deps.logger.warn({ err, runId: run.id }, 'event stream failed to start');
          finish();
        }
        return {};
      },
    }),
  ];
}
