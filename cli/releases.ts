/**
 * Finding a release by name, for commands that take `--release NAME`: the session's releases, or
 * the project's release batches (one release per session made together under one name).
 */
import { UsageError } from './errors.ts';
import { seg, type Api } from './http.ts';

export interface ReleaseSummary {
  id: string;
  sessionId: string;
  name: string;
  contentHash: string;
  batchId?: string | null;
}

interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

/** Walks the pages of a list until `match` finds an item. */
async function findIn<T>(api: Api, path: string, match: (item: T) => boolean, what: string): Promise<T | null> {
  let cursor: string | null | undefined;
  for (;;) {
    const page = await api.json<Page<T>>('GET', `${path}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, what);
    const found = page.items.find(match);
    if (found) return found;
    if (!page.nextCursor) return null;
    cursor = page.nextCursor;
  }
}

export async function sessionRelease(api: Api, sessionId: string, name: string): Promise<ReleaseSummary> {
  const found = await findIn<ReleaseSummary>(api, `/api/sessions/${seg(sessionId)}/releases`, (r) => r.name === name, `list releases of session ${sessionId}`);
  if (!found) throw new UsageError(`session ${sessionId} has no release named '${name}'`);
  return found;
}

export interface ProjectReleaseSummary {
  batchId: string;
  name: string;
  releases: ReleaseSummary[];
}

export async function projectRelease(api: Api, projectId: string, name: string): Promise<ProjectReleaseSummary> {
  const found = await findIn<ProjectReleaseSummary>(api, `/api/projects/${seg(projectId)}/releases`, (r) => r.name === name, `list releases of project ${projectId}`);
  if (!found) throw new UsageError(`project ${projectId} has no release named '${name}'`);
  return found;
}
