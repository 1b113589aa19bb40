/**
 * `/api/sessions/:sessionId/tracks`: tracks of a session document. A track's keyframes are the
 * annotations carrying its id; interpolated boxes come from `GET …/annotations?expand=tracks`.
 */
import { addTrack, deleteTrack, getTrack, listTracks, updateTrack } from '../../../docs-model/index.ts';
import { NotFoundError } from '../../base/errors.ts';
import { actorOf, sessionRole } from '../access.ts';
import { changeSessionDoc, readSessionDoc } from '../../services/session-documents.ts';
import { type Services } from '../../services/services.ts';
import { defineRoute, type Route } from '../route.ts';
import { SessionParams, Track, TrackDeleteQuery, TrackInput, TrackParams, TrackPatch, listOf } from '../schemas.ts';

const tag = 'tracks';

export function trackRoutes(deps: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/tracks',
      tag,
      summary: 'List tracks, by id',
      params: SessionParams,
      responses: { 200: { description: 'every track', schema: listOf(Track) } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ authorized: session }) => ({ body: { items: await readSessionDoc(deps, session, (ydoc) => listTracks(ydoc)) } }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:sessionId/tracks',
      tag,
      summary: 'Create a track',
      description: 'The label must be one of the session labels (422 otherwise); an id that exists: 409.',
      params: SessionParams,
      body: TrackInput,
      responses: { 201: { description: 'the track', schema: Track } },
      errors: [404, 409],
      authorize: sessionRole(deps, 'annotator'),
      handle: async ({ body, ctx, authorized: session }) => {
        const track = await changeSessionDoc(deps, session, actorOf(ctx), (ydoc, origin) => addTrack(ydoc, body, origin));
        return { status: 201, body: track };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/tracks/:trackId',
      tag,
      summary: 'Get a track',
      params: TrackParams,
      responses: { 200: { description: 'the track', schema: Track } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ params, authorized: session }) => {
        const track = await readSessionDoc(deps, session, (ydoc) => getTrack(ydoc, params.trackId));
        if (!track) throw new NotFoundError(`no track '${params.trackId}'`);
        return { body: track };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/sessions/:sessionId/tracks/:trackId',
      tag,
      summary: 'Change a track (a new label is written on its keyframes too)',
      params: TrackParams,
      body: TrackPatch,
      responses: { 200: { description: 'the track', schema: Track } },
      errors: [404],
      authorize: sessionRole(deps, 'annotator'),
      handle: async ({ params, body, ctx, authorized: session }) => {
        const track = await changeSessionDoc(deps, session, actorOf(ctx), (ydoc, origin) =>
          updateTrack(ydoc, params.trackId, body, { origin }),
        );
        return { body: track };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/sessions/:sessionId/tracks/:trackId',
      tag,
      summary: 'Delete a track',
      description: 'Its keyframes stay as standalone annotations, or are deleted with withKeyframes=true.',
      params: TrackParams,
      query: TrackDeleteQuery,
      responses: { 204: { description: 'deleted' } },
      errors: [404],
      authorize: sessionRole(deps, 'annotator'),
      handle: async ({ params, query, ctx, authorized: session }) => {
        const deleted = await changeSessionDoc(deps, session, actorOf(ctx), (ydoc, origin) =>
          deleteTrack(ydoc, params.trackId, { withKeyframes: query.withKeyframes ?? false, origin }),
        );
        if (!deleted) throw new NotFoundError(`no track '${params.trackId}'`);
        return { status: 204 };
      },
    }),
  ];
}
