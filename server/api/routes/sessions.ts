/**
 * Sessions (AnnotationSession): one per linked video and purpose, each backed by the live document
 * `session:<id>`, whose meta and labels are written at creation. Deleting archives: the row is
 * marked and the document kept.
 */
import { randomUUID } from 'node:crypto';
import { initSession, type LabelDef } from '../../../docs-model/index.ts';
import { ConflictError, NotFoundError } from '../../base/errors.ts';
import type { SessionRecord } from '../../../persistence/rows.ts';
import { actorOf, projectRole, requireRole, sessionRole } from '../access.ts';
import { changeSessionDoc, newSessionDocName, sessionParticipants } from '../../services/session-documents.ts';
import { findProject, findVideo, paged } from '../../services/records.ts';
import { type Services } from '../../services/services.ts';
import { defineRoute, type Route } from '../route.ts';
import { ProjectParams, Session, SessionCreate, SessionDetail, SessionListQuery, SessionParams, SessionPatch, pageOf } from '../schemas.ts';

const tag = 'sessions';

async function detail(deps: Services, session: SessionRecord) {
  const counts = (await deps.repos.annotations.countsBySession([session.id])).get(session.id) ?? { total: 0, byStatus: {} };
  const participants = sessionParticipants(deps, session);
  return { ...session, annotations: counts, participants };
}

export function sessionRoutes(deps: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/sessions',
      tag,
      summary: "List the project's sessions, oldest first",
      params: ProjectParams,
      query: SessionListQuery,
      responses: { 200: { description: 'one page of sessions', schema: pageOf(Session) } },
      errors: [404],
      authorize: projectRole('viewer'),
      handle: async ({ params, query }) => {
        await findProject(deps, params.projectId);
        const page = await paged(() =>
          deps.repos.sessions.listByProject(params.projectId, {
            limit: query.limit,
            ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
            ...(query.status === undefined ? {} : { status: query.status }),
            ...(query.videoId === undefined ? {} : { videoId: query.videoId }),
            ...(query.includeArchived === undefined ? {} : { includeArchived: query.includeArchived }),
          }),
        );
        return { body: page };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:projectId/sessions',
      tag,
      summary: 'Create a session for a linked video',
      description:
        "Writes the document's meta (video size, fps, frame count) and the project's labels before answering. 409 when the video is not linked to the project.",
      params: ProjectParams,
      body: SessionCreate,
      responses: { 201: { description: 'the session; connect to its docName', schema: Session } },
      errors: [404, 409],
      authorize: projectRole('manager'),
      handle: async ({ params, body, ctx }) => {
        const project = await findProject(deps, params.projectId);
        const video = await findVideo(deps, body.videoId);
        if (!(await deps.repos.projectVideos.get(project.id, video.id))) {
          throw new ConflictError(`video '${video.id}' is not linked to the project`, [{ field: 'videoId', code: 'not_linked', message: 'link the video first' }], 'not_linked');
        }
        const actor = actorOf(ctx);
        const id = body.id ?? randomUUID();
        if (body.id !== undefined && (await deps.repos.sessions.get(body.id))) {
          throw new ConflictError(`a session '${body.id}' exists already`, [{ field: 'id', code: 'taken', message: 'choose another id' }], 'taken');
        }
        const session = await deps.repos.sessions.create(
          {
            id,
            projectId: project.id,
            videoId: video.id,
            name: body.name ?? video.name,
            docName: newSessionDocName(id),
            createdBy: actor,
          },
          deps.events.within((created) => [{ projectId: created.projectId, type: 'session.created', actor, data: { session: created } }]),
        );
        const labels: Record<string, LabelDef> = {};
        for (const { name, ...def } of project.labels) labels[name] = def;
        const meta = {
          sessionId: id,
          projectId: project.id,
          videoId: video.id,
          width: video.width,
          height: video.height,
          fps: video.fps,
          frameCount: video.frameCount,
        };
        try {
          await changeSessionDoc(deps, session, actor, (ydoc, origin) => initSession(ydoc, { meta, labels }, { origin }));
        } catch (err) {
          // A session whose document has no meta would refuse every annotation: undo the row.
          await deps.repos.sessions.remove(id).catch(() => undefined);
          deps.sessionCache.forget(id);
          throw err;
        }
        // Its annotators connect next: each socket's auth then finds the row without a query.
        deps.sessionCache.set(session);
        return { status: 201, body: session, headers: { Location: `/api/sessions/${id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId',
      tag,
      summary: 'Get a session with its annotation counts and live participants',
      params: SessionParams,
      responses: { 200: { description: 'the session', schema: SessionDetail } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ authorized: session }) => ({ body: await detail(deps, session) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/api/sessions/:sessionId',
      tag,
      summary: "Change a session's status (open, review, complete) or name",
      params: SessionParams,
      body: SessionPatch,
      responses: { 200: { description: 'the session', schema: Session } },
      errors: [404],
      // Annotators may rename, only managers change the status: anyone below annotator is refused
      // before the body is read, and the status, known only from the body, is checked after it.
      authorize: sessionRole(deps, 'annotator'),
      handle: async ({ body, ctx, authorized: session }) => {
        if (body.status !== undefined) await requireRole(ctx, session.projectId, 'manager');
        const actor = actorOf(ctx);
        const updated = await deps.repos.sessions.update(
          session.id,
          body,
          deps.events.within(({ before, after }) =>
            before.status === after.status
              ? []
              : [{ projectId: after.projectId, type: 'session.status_changed', actor, data: { sessionId: after.id, from: before.status, to: after.status, session: after } }],
          ),
        );
        if (!updated) {
          deps.sessionCache.forget(session.id);
          throw new NotFoundError(`no session '${session.id}'`);
        }
        deps.sessionCache.set(updated);
        return { body: updated };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/sessions/:sessionId',
      tag,
      summary: 'Delete (archive) a session',
      description: 'The session leaves the API; its document and history are kept.',
      params: SessionParams,
      responses: { 204: { description: 'archived' } },
      errors: [404],
      authorize: sessionRole(deps, 'manager'),
      handle: async ({ authorized: session }) => {
        const archived = await deps.repos.sessions.archive(session.id);
        deps.sessionCache.forget(session.id);
        if (!archived) throw new NotFoundError(`no session '${session.id}'`);
        return { status: 204 };
      },
    }),
  ];
}
