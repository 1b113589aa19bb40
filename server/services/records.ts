/**
 * The lookups every route and service shares: a project, video or session by id (404 otherwise),
 * and a page of rows whose cursor the caller may have made up.
 *
 *   const session = await findSession(services, params.sessionId)
 */
import { InvalidCursorError } from '../../persistence/page.ts';
import type { ProjectRecord, SessionRecord, VideoRecord } from '../../persistence/rows.ts';
import { BadRequestError, NotFoundError } from '../base/errors.ts';
import type { Repositories } from './repositories.ts';
import type { SessionCache } from './session-cache.ts';

export interface RecordSources {
  repos: Repositories;
  sessionCache: SessionCache;
}

export async function findProject(deps: RecordSources, id: string): Promise<ProjectRecord> {
  const project = await deps.repos.projects.get(id);
  if (!project) throw new NotFoundError(`no project '${id}'`);
  return project;
}

export async function findVideo(deps: RecordSources, id: string): Promise<VideoRecord> {
  const video = await deps.repos.videos.get(id);
  if (!video) throw new NotFoundError(`no video '${id}'`);
  return video;
}

/** A session that is not archived (a deleted session is gone from the API). */
export async function findSession(deps: RecordSources, id: string): Promise<SessionRecord> {
  const session = await deps.sessionCache.get(id);
  if (!session || session.archivedAt !== null) throw new NotFoundError(`no session '${id}'`);
  return session;
}

/** Repositories throw InvalidCursorError for a cursor they did not make. */
export async function paged<T>(load: () => Promise<T> | T): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (err instanceof InvalidCursorError) throw new BadRequestError('cursor is not valid', [{ field: 'cursor', code: 'invalid_cursor', message: 'pass back a nextCursor unchanged' }], 'invalid_query');
    throw err;
  }
}
