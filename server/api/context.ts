/**
 * What every route module gets, and the few lookups they share: a project, video or session by id
 * (404 otherwise), the session's live document, and the one mapping of docs-model errors to HTTP.
 *
 *   const session = await findSession(deps, params.sessionId)
 *   const page = await readSession(deps, session, (ydoc, index) => index.query(filter, page))
 */
import type * as Y from 'yjs';
import { DocModelError } from '../../docs-model/index.ts';
import type { Database } from '../../persistence/database.ts';
import type { Logger } from '../../persistence/logger.ts';
import { InvalidCursorError } from '../../persistence/page.ts';
import type { ProjectRecord, SessionRecord, VideoRecord } from '../../persistence/rows.ts';
import { createAnnotationRepository, type AnnotationRepository } from '../../persistence/repositories/annotations.ts';
import { createProjectRepository, type ProjectRepository } from '../../persistence/repositories/projects.ts';
import { createProjectVideoRepository, type ProjectVideoRepository } from '../../persistence/repositories/project-videos.ts';
import { createSessionRepository, type SessionRepository } from '../../persistence/repositories/sessions.ts';
import { createVideoRepository, type VideoRepository } from '../../persistence/repositories/videos.ts';
import type { Config } from '../config.ts';
import type { DocRegistry } from '../doc-registry.ts';
import { BadRequestError, ConflictError, NotFoundError, ValidationError, type ErrorDetail } from '../errors.ts';
import type { ChangeOrigin } from '../origins.ts';
import { parseDocName, type DocName } from '../wire.ts';
import type { Projection } from './projection.ts';
import type { SessionIndex } from './session-index.ts';
import type { SessionCache } from './session-cache.ts';

export interface Repositories {
  projects: ProjectRepository;
  videos: VideoRepository;
  projectVideos: ProjectVideoRepository;
  sessions: SessionRepository;
  annotations: AnnotationRepository;
}

export function createRepositories(db: Database): Repositories {
  const { knex } = db;
  return {
    projects: createProjectRepository({ knex }),
    videos: createVideoRepository({ knex }),
    projectVideos: createProjectVideoRepository({ knex }),
    sessions: createSessionRepository({ knex }),
    annotations: createAnnotationRepository({ knex }),
  };
}

export interface ApiDeps {
  repos: Repositories;
  sessionCache: SessionCache;
  registry: DocRegistry;
  projection: Projection;
  logger: Logger;
  config: Config;
  /** Project activity for dashboards ('imported', …); set once the live features exist. */
  activity?: (projectId: string, event: { type: 'imported'; sessionId: string; user?: string; detail?: Record<string, unknown> }) => void;
}

export async function findProject(deps: ApiDeps, id: string): Promise<ProjectRecord> {
  const project = await deps.repos.projects.get(id);
  if (!project) throw new NotFoundError(`no project '${id}'`);
  return project;
}

export async function findVideo(deps: ApiDeps, id: string): Promise<VideoRecord> {
  const video = await deps.repos.videos.get(id);
  if (!video) throw new NotFoundError(`no video '${id}'`);
  return video;
}

/** A session that is not archived (a deleted session is gone from the API). */
export async function findSession(deps: ApiDeps, id: string): Promise<SessionRecord> {
  const session = await deps.sessionCache.get(id);
  if (!session || session.archivedAt !== null) throw new NotFoundError(`no session '${id}'`);
  return session;
}

export function sessionDocName(session: SessionRecord): DocName {
  const name = parseDocName(session.docName);
  if (!name) throw new Error(`session ${session.id} has an invalid document name`);
  return name;
}

/** Reads the session's live document (loaded if needed) with its read index. */
export async function readSessionDoc<T>(
  deps: ApiDeps,
  session: SessionRecord,
  reader: (ydoc: Y.Doc, index: SessionIndex) => T,
): Promise<T> {
  return deps.registry.read(sessionDocName(session), (ydoc, doc) => {
    const index = deps.projection.track(doc);
    if (!index) throw new Error(`${doc.name} is not a session document`);
    return reader(ydoc, index);
  });
}

/** Changes the session's live document; resolves once the update is committed. */
export async function changeSessionDoc<T>(
  deps: ApiDeps,
  session: SessionRecord,
  actor: string,
  change: (ydoc: Y.Doc, origin: ChangeOrigin) => T,
): Promise<T> {
  try {
    return await deps.registry.transact(sessionDocName(session), actor, change);
  } catch (err) {
    throw fromDocModelError(err);
  }
}

/** docs-model problems as HTTP: not_found → 404, duplicate_id → 409, the rest → 422 naming the field. */
export function fromDocModelError(err: unknown): unknown {
  if (!(err instanceof DocModelError)) return err;
  if (err.code === 'not_found') return new NotFoundError(err.message);
  if (err.code === 'invalid_content' && hasIndexedErrors(err.details)) {
    const details: ErrorDetail[] = err.details.errors.map(({ index, field, code, message }) => ({
      field: `[${index}].${field}`,
      code,
      message,
      index,
    }));
    // Ids that exist already are a conflict with the document's state, not invalid input.
    if (details.every((d) => d.code === 'duplicate_id')) return new ConflictError(err.message, details, 'duplicate_id');
    return new ValidationError(err.message, details);
  }
  const detail: ErrorDetail = { field: err.field, code: err.code, message: err.message };
  if (err.details !== undefined) detail.details = err.details;
  if (err.code === 'duplicate_id') return new ConflictError(err.message, [detail], 'duplicate_id');
  return new ValidationError(err.message, [detail]);
}

function hasIndexedErrors(
  details: unknown,
): details is { errors: Array<{ index: number; field: string; code: string; message: string }> } {
  return (
    typeof details === 'object' &&
    details !== null &&
    Array.isArray((details as { errors?: unknown }).errors)
  );
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
