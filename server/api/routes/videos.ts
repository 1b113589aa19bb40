/**
 * `/api/videos`: the video catalogue, with filters by tag, name and "linked to no project".
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '../../base/errors.ts';
import { adminOnly } from '../access.ts';
import { findVideo, paged } from '../../services/records.ts';
import { type Services } from '../../services/services.ts';
import { defineRoute, type Route } from '../route.ts';
import { Video, VideoCreate, VideoListQuery, VideoParams, VideoPatch, pageOf } from '../schemas.ts';

const tag = 'videos';

export function videoRoutes(deps: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/videos',
      tag,
      summary: 'List videos, oldest first',
      query: VideoListQuery,
      responses: { 200: { description: 'one page of videos', schema: pageOf(Video) } },
      handle: async ({ query }) => ({
        body: await paged(() =>
          deps.repos.videos.list({
            limit: query.limit,
            ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
            ...(query.tag === undefined ? {} : { tag: query.tag }),
            ...(query.q === undefined ? {} : { q: query.q }),
            ...(query.unassigned === undefined ? {} : { unassigned: query.unassigned }),
          }),
        ),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/videos',
      tag,
      summary: 'Register a video',
      body: VideoCreate,
      responses: { 201: { description: 'the video', schema: Video } },
      errors: [409],
      authorize: adminOnly,
      handle: async ({ body }) => {
        const id = body.id ?? randomUUID();
        if (body.id !== undefined && (await deps.repos.videos.get(body.id))) {
          throw new ConflictError(`a video '${body.id}' already exists`, [{ field: 'id', code: 'duplicate_id', message: 'id is taken' }], 'duplicate_id');
        }
        const video = await deps.repos.videos.create({
          ...body,
          id,
          durationSec: body.durationSec ?? body.frameCount / body.fps,
        });
        return { status: 201, body: video, headers: { Location: `/api/videos/${video.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/videos/:videoId',
      tag,
      summary: 'Get a video',
      params: VideoParams,
      responses: { 200: { description: 'the video', schema: Video } },
      errors: [404],
      handle: async ({ params }) => ({ body: await findVideo(deps, params.videoId) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/api/videos/:videoId',
      tag,
      summary: 'Change a video',
      description: 'Sessions keep the size, fps and frame count they were created with.',
      params: VideoParams,
      body: VideoPatch,
      responses: { 200: { description: 'the video', schema: Video } },
      errors: [404],
      authorize: adminOnly,
      handle: async ({ params, body }) => {
        const video = await deps.repos.videos.update(params.videoId, body);
        if (!video) throw new NotFoundError(`no video '${params.videoId}'`);
        return { body: video };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/videos/:videoId',
      tag,
      summary: 'Delete a video',
      description: 'Refused with 409 once any session annotates it: its ground truth would lose its video.',
      params: VideoParams,
      responses: { 204: { description: 'deleted' } },
      errors: [404, 409],
      authorize: adminOnly,
      handle: async ({ params }) => {
        await findVideo(deps, params.videoId);
        if (await deps.repos.sessions.videoHasSessions(params.videoId)) {
          throw new ConflictError('the video has annotation sessions');
        }
        await deps.repos.videos.delete(params.videoId);
        return { status: 204 };
      },
    }),
  ];
}
