/**
 * `/api/projects/:projectId/videos` (VideoProjectLink): linking videos to a project, the ranked
 * suggestions of matching.ts, auto-assign, and the linked videos' ground-truth status.
 */
import { ConflictError, ValidationError } from '../../base/errors.ts';
import { actorOf, projectRole } from '../access.ts';
import { findProject } from '../../services/records.ts';
import { type Services } from '../../services/services.ts';
import { rankVideos } from '../../services/matching.ts';
import { defineRoute, type Route } from '../route.ts';
import {
  AssignVideos,
  AutoAssign,
  ForceQuery,
  GroundTruthVideo,
  LinkedVideo,
  ProjectParams,
  ProjectVideoParams,
  Suggestion,
  SuggestionsQuery,
  VideoProjectLink,
  listOf,
} from '../schemas.ts';
import { z } from 'zod';

const tag = 'project videos';

type GroundTruthStatus = 'none' | 'in_progress' | 'complete';

async function suggestions(deps: Services, projectId: string) {
  const project = await findProject(deps, projectId);
  const [candidates, linked] = await Promise.all([
    deps.repos.videos.listAll({ notInProject: projectId }),
    deps.repos.projectVideos.list(projectId),
  ]);
  return rankVideos(
    project.criteria,
    candidates,
    linked.map((l) => l.video),
  );
}

export function projectVideoRoutes(deps: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/videos',
      tag,
      summary: "List the project's videos, with who linked each and when",
      params: ProjectParams,
      responses: { 200: { description: 'the linked videos', schema: listOf(LinkedVideo) } },
      errors: [404],
      authorize: projectRole('viewer'),
      handle: async ({ params }) => {
        await findProject(deps, params.projectId);
        return { body: { items: await deps.repos.projectVideos.list(params.projectId) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:projectId/videos',
      tag,
      summary: 'Link videos to the project',
      description: 'Videos already linked stay as they are (their link is not changed). Unknown ids: 422, nothing linked.',
      params: ProjectParams,
      body: AssignVideos,
      responses: {
        200: {
          description: 'the links created now, and the ids that were linked already',
          schema: z.object({ assigned: z.array(VideoProjectLink), alreadyLinked: z.array(z.string()) }),
        },
      },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params, body, ctx }) => {
        await findProject(deps, params.projectId);
        const found = new Set((await deps.repos.videos.getMany(body.videoIds)).map((v) => v.id));
        const missing = body.videoIds.map((id, i) => ({ id, i })).filter(({ id }) => !found.has(id));
        if (missing.length > 0) {
          throw new ValidationError(
            `no video ${missing.map((m) => `'${m.id}'`).join(', ')}`,
            missing.map(({ id, i }) => ({ field: `videoIds[${i}]`, code: 'unknown_video', message: `no video '${id}'` })),
          );
        }
        const assigned = await deps.repos.projectVideos.assign(params.projectId, body.videoIds, actorOf(ctx));
        const created = new Set(assigned.map((l) => l.videoId));
        return { body: { assigned, alreadyLinked: [...new Set(body.videoIds)].filter((id) => !created.has(id)) } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:projectId/videos/:videoId',
      tag,
      summary: 'Unlink a video from the project',
      description: 'Refused with 409 while the video has an open session (not complete, not deleted) in the project, unless force=true; its sessions stay.',
      params: ProjectVideoParams,
      query: ForceQuery,
      responses: { 204: { description: 'unlinked' } },
      errors: [404, 409],
      authorize: projectRole('manager'),
      handle: async ({ params, query }) => {
        await findProject(deps, params.projectId);
        const link = await deps.repos.projectVideos.get(params.projectId, params.videoId);
        if (!link) throw new ConflictError(`video '${params.videoId}' is not linked to the project`, undefined, 'not_linked');
        if (!query.force && (await deps.repos.sessions.hasOpenSession(params.projectId, params.videoId))) {
          throw new ConflictError('the video has an open session in this project; pass force=true to unlink anyway', undefined, 'open_session');
        }
        await deps.repos.projectVideos.unassign(params.projectId, params.videoId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/videos/suggestions',
      tag,
      summary: 'Videos not linked yet, ranked against the project criteria',
      description:
        'Each with a score in [0, 1] and one reason per criterion; a video whose checksum equals a linked one is flagged `duplicate`.',
      params: ProjectParams,
      query: SuggestionsQuery,
      responses: { 200: { description: 'best first', schema: listOf(Suggestion) } },
      errors: [404],
      authorize: projectRole('viewer'),
      handle: async ({ params, query }) => {
        const ranked = await suggestions(deps, params.projectId);
        const kept = ranked.filter((s) => query.minScore === undefined || s.score >= query.minScore).slice(0, query.limit);
        return { body: { items: kept } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:projectId/videos/auto-assign',
      tag,
      summary: 'Link every suggestion scoring at least minScore (duplicates excluded)',
      params: ProjectParams,
      body: AutoAssign,
      responses: { 200: { description: 'the links created', schema: z.object({ assigned: z.array(VideoProjectLink) }) } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params, body, ctx }) => {
        const chosen = (await suggestions(deps, params.projectId))
          .filter((s) => !s.duplicate && s.score >= body.minScore)
          .slice(0, body.limit ?? Number.POSITIVE_INFINITY)
          .map((s) => s.video.id);
        const assigned = await deps.repos.projectVideos.assign(params.projectId, chosen, actorOf(ctx));
        return { body: { assigned } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/ground-truth/videos',
      tag,
      summary: 'Linked videos available for ground truth, with their status and annotation counts',
      description:
        'status: none (no session), in_progress (sessions, none complete), complete (a session is complete). Counts come from the annotations table (about a second behind the documents).',
      params: ProjectParams,
      responses: { 200: { description: 'one entry per linked video', schema: listOf(GroundTruthVideo) } },
      errors: [404],
      authorize: projectRole('viewer'),
      handle: async ({ params }) => {
        await findProject(deps, params.projectId);
        const [linked, sessions] = await Promise.all([
          deps.repos.projectVideos.list(params.projectId),
          deps.repos.sessions.listActive(params.projectId),
        ]);
        const counts = await deps.repos.annotations.countsBySession(sessions.map((s) => s.id));
        const items = linked.map(({ video, link }) => {
          const own = sessions.filter((s) => s.videoId === video.id);
          const status: GroundTruthStatus =
            own.length === 0 ? 'none' : own.some((s) => s.status === 'complete') ? 'complete' : 'in_progress';
          const annotations = { total: 0, byStatus: {} as Record<string, number> };
          for (const s of own) {
            const c = counts.get(s.id);
            if (!c) continue;
            annotations.total += c.total;
            for (const [k, n] of Object.entries(c.byStatus)) annotations.byStatus[k] = (annotations.byStatus[k] ?? 0) + n;
          }
          return { video, link, status, sessions: own.map((s) => ({ id: s.id, status: s.status })), annotations };
        });
        return { body: { items } };
      },
    }),
  ];
}
