/**
 * `/api/sessions/:sessionId/annotations`: reads answer from the live document's read index;
 * writes go through the live document (loaded if needed), so connected annotators see them at
 * once, and answer only after the update is committed. Bulk creates are all or nothing, in one
 * document transaction.
 */
import { randomUUID } from 'node:crypto';
import {
  planAddAnnotations,
  deleteAnnotation,
  expandTrack,
  getMeta,
  listTracks,
  updateAnnotation,
  type Annotation,
  type AnnotationFilter,
  type TrackFrameBox,
} from '../../../docs-model/index.ts';
import { BadRequestError, ConflictError, NotFoundError, ValidationError, type ErrorDetail } from '../../base/errors.ts';
import { actorOf, sessionRole } from '../access.ts';
import { changeSessionDoc, changeSessionDocInSteps, readSessionDoc } from '../../services/session-documents.ts';
import { paged } from '../../services/records.ts';
import { type Services } from '../../services/services.ts';
import { itemsJson } from '../../base/loop-slices.ts';
import type { ReadPage } from '../../followers/session-index.ts';
import { defineRoute, type Route } from '../route.ts';
import {
  Annotation as AnnotationSchema,
  AnnotationCreate,
  AnnotationListQuery,
  AnnotationPage,
  AnnotationParams,
  AnnotationPatch,
  ClipQuery,
  MAX_BULK_ANNOTATIONS,
  SessionParams,
  listOf,
} from '../schemas.ts';

const tag = 'annotations';

/** 10 000 annotations as JSON are about 2 MB; leave room for attributes. */
export const ANNOTATIONS_BODY_LIMIT = 16 * 1024 * 1024;
/** Interpolated boxes one list call may expand (frames in the window × tracks). */
export const MAX_TRACK_BOXES = 200_000;

/** A single create reports fields as `frame`, not `[0].frame`. */
function unwrapSingle(err: unknown): unknown {
  if (!(err instanceof ValidationError || err instanceof ConflictError) || !Array.isArray(err.details)) return err;
  const details = (err.details as ErrorDetail[]).map(({ index: _index, ...d }) => ({
    ...d,
    ...(typeof d.field === 'string' ? { field: d.field.replace(/^\[0\]\./, '') } : {}),
  }));
  const first = details[0];
  const message = first ? `${first.field}: ${first.message}` : err.message;
  return err instanceof ConflictError ? new ConflictError(message, details, err.code) : new ValidationError(message, details);
}

function trackBoxes(
  ydoc: Parameters<typeof listTracks>[0],
  all: Iterable<Annotation>,
  query: { frame?: number; fromFrame?: number; toFrame?: number; trackId?: string; label?: string },
): TrackFrameBox[] {
  const frameCount = getMeta(ydoc)?.frameCount;
  const from = query.frame ?? query.fromFrame ?? 0;
  const to = query.frame ?? query.toFrame ?? (frameCount === undefined ? from : frameCount - 1);
  const tracks = listTracks(ydoc).filter(
    (t) => (query.trackId === undefined || t.id === query.trackId) && (query.label === undefined || t.label === query.label),
  );
  if ((to - from + 1) * tracks.length > MAX_TRACK_BOXES) {
    throw new BadRequestError(
      `expand=tracks over ${to - from + 1} frames and ${tracks.length} tracks exceeds ${MAX_TRACK_BOXES} boxes; narrow fromFrame/toFrame`,
      [{ field: 'toFrame', code: 'window_too_large', message: 'narrow the frame window' }],
      'invalid_query',
    );
  }
  const keyframes = new Map<string, Annotation[]>();
  for (const a of all) {
    if (a.trackId === null) continue;
    const list = keyframes.get(a.trackId);
    if (list) list.push(a);
    else keyframes.set(a.trackId, [a]);
  }
  return tracks.flatMap((t) =>
    expandTrack(t, keyframes.get(t.id) ?? [], { fromFrame: from, toFrame: to, ...(frameCount === undefined ? {} : { frameCount }) }),
  );
}

/**
 * Each annotation's JSON, kept while the read index holds that object: the index replaces an
 * annotation's object when it changes and never edits one in place, so a kept string is current.
 * JSON.stringify of a page was the largest self cost of ours in a one-frame GET (bench:rest
 * profile, ~8 % of its server CPU); most reads hand out annotations serialised before.
 */
const annotationJson = new WeakMap<Annotation, string>();
/**
 * The JSON of a page that is a whole frame, kept while the index hands out that frame's frozen
 * array (it makes a new one when the frame changes): a one-frame GET of a frame nobody edited
 * since is its cached text.
 */
const framePageJson = new WeakMap<readonly Annotation[], string>();
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

/** Byte for byte `JSON.stringify(page)` (koa's serialisation of the object). */
function pageJson(page: ReadPage): string {
  if (!Object.isFrozen(page.items)) return itemsPageJson(page);
  let json = framePageJson.get(page.items);
  if (json === undefined) framePageJson.set(page.items, (json = itemsPageJson(page)));
  return json;
}

function itemsPageJson(page: ReadPage): string {
  let out = '{"items":[';
  for (let i = 0; i < page.items.length; i++) {
    const a = page.items[i] as Annotation;
    let json = annotationJson.get(a);
    if (json === undefined) annotationJson.set(a, (json = JSON.stringify(a)));
    out += i === 0 ? json : `,${json}`;
  }
  return `${out}],"nextCursor":${JSON.stringify(page.nextCursor)}}`;
}

export function annotationRoutes(deps: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/annotations',
      tag,
      summary: 'List annotations by frame, then id',
      description:
        'Filters combine (AND); frame ranges are inclusive. Cursor pagination: pass nextCursor back as cursor. With expand=tracks the first page also carries the interpolated boxes of the tracks within the frame window.',
      params: SessionParams,
      query: AnnotationListQuery,
      responses: { 200: { description: 'one page', schema: AnnotationPage } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ query, authorized: session }) => {
        const filter: AnnotationFilter = {};
        for (const key of ['frame', 'fromFrame', 'toFrame', 'label', 'trackId', 'detectionId', 'status'] as const) {
          // A plain write, not Object.assign of a fresh object per key (1–2 % of a one-frame GET).
          if (query[key] !== undefined) (filter as Record<string, unknown>)[key] = query[key];
        }
        const body = await paged(() =>
          readSessionDoc(deps, session, (ydoc, index) => {
            const page = index.query(filter, { limit: query.limit, ...(query.cursor === undefined ? {} : { cursor: query.cursor }) });
            if (query.expand !== 'tracks' || query.cursor !== undefined) return pageJson(page);
            return { ...page, trackBoxes: trackBoxes(ydoc, index.all(), filter) };
          }),
        );
        return typeof body === 'string' ? { body, headers: JSON_TYPE } : { body };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:sessionId/annotations',
      tag,
      summary: `Create one annotation, or up to ${MAX_BULK_ANNOTATIONS} at once (all or nothing)`,
      description:
        'Refused with 422 naming the field: a frame outside 0..frameCount-1, a box with w or h <= 0, a label not in the session, an unknown trackId, a box outside the frame (clipped instead with clip=true). An id that exists: 409. Answers after the change is committed.',
      params: SessionParams,
      query: ClipQuery,
      body: AnnotationCreate,
      bodyLimitBytes: ANNOTATIONS_BODY_LIMIT,
      responses: {
        201: { description: 'the annotation (single) or { items } (array), as stored', schema: AnnotationSchema.or(listOf(AnnotationSchema)) },
      },
      errors: [404, 409],
      authorize: sessionRole(deps, 'annotator'),
      handle: async ({ query, body, ctx, authorized: session }) => {
        const actor = actorOf(ctx);
        const single = !Array.isArray(body);
        // Ids minted here with node's randomUUID: docs-model's default (lib0 uuidv4) draws 31
        // random values per id, which alone costs about a second for a 10 000-box bulk create.
        const inputs = (Array.isArray(body) ? body : [body]).map((input) => (input.id === undefined ? { ...input, id: randomUUID() } : input));
        try {
          const created = await changeSessionDocInSteps(deps, session, actor, (ydoc) =>
            planAddAnnotations(ydoc, inputs, { by: actor, clip: query.clip ?? false }),
          );
          return single ? { status: 201, body: created[0] } : { status: 201, body: await itemsJson(created), headers: JSON_TYPE };
        } catch (err) {
          throw single ? unwrapSingle(err) : err;
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/annotations/:annotationId',
      tag,
      summary: 'Get one annotation',
      params: AnnotationParams,
      responses: { 200: { description: 'the annotation', schema: AnnotationSchema } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ params, authorized: session }) => {
        const annotation = await readSessionDoc(deps, session, (_ydoc, index) => index.get(params.annotationId));
        if (!annotation) throw new NotFoundError(`no annotation '${params.annotationId}'`);
        return { body: annotation };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/sessions/:sessionId/annotations/:annotationId',
      tag,
      summary: 'Change fields of one annotation',
      description: 'Only the given fields are written, so a concurrent edit of another field survives. Same 422s as create.',
      params: AnnotationParams,
      query: ClipQuery,
      body: AnnotationPatch,
      responses: { 200: { description: 'the annotation', schema: AnnotationSchema } },
      errors: [404],
      authorize: sessionRole(deps, 'annotator'),
      handle: async ({ params, query, body, ctx, authorized: session }) => {
        const actor = actorOf(ctx);
        const annotation = await changeSessionDoc(deps, session, actor, (ydoc, origin) =>
          updateAnnotation(ydoc, params.annotationId, body, { by: actor, clip: query.clip ?? false, origin }),
        );
        return { body: annotation };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/sessions/:sessionId/annotations/:annotationId',
      tag,
      summary: 'Delete one annotation',
      params: AnnotationParams,
      responses: { 204: { description: 'deleted' } },
      errors: [404],
      authorize: sessionRole(deps, 'annotator'),
      handle: async ({ params, ctx, authorized: session }) => {
        const deleted = await changeSessionDoc(deps, session, actorOf(ctx), (ydoc, origin) =>
          deleteAnnotation(ydoc, params.annotationId, origin),
        );
        if (!deleted) throw new NotFoundError(`no annotation '${params.annotationId}'`);
        return { status: 204 };
      },
    }),
  ];
}
