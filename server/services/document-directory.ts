/**
 * Which project owns a document — the one question socket auth asks before a document is opened
 * (4404 when the answer is "none"). It lives here, below both transports, so the socket layer
 * never asks the REST layer.
 *
 *   const directory = createDocumentDirectory({ sessionCache, projects, testRuns })
 *   await directory.projectOf(parseDocName('session:abc')!)   // → 'project-id' | null
 */
import type { DocName } from '../../docs-model/protocol.ts';
import type { ProjectRepository } from '../../persistence/repositories/projects.ts';
import type { SessionCache } from './session-cache.ts';

export interface DocumentDirectory {
  /** The project a document belongs to, or null when there is no such document. */
  projectOf(docName: DocName): Promise<string | null>;
}

export function createDocumentDirectory(deps: {
  sessionCache: SessionCache;
  projects: ProjectRepository;
  testRuns: { projectOf(runId: string): Promise<string | null> };
}): DocumentDirectory {
  return {
    projectOf: async (docName) => {
      switch (docName.kind) {
        case 'session': {
          // Through the session cache, tolerating rows up to 30 s old: a crowd reconnecting must not
          // cost a query per socket, a session's project never changes, and an archive made by this
          // process updates the cache at once (one made by another process is seen within 30 s, or
          // 40 s when the row is served while it is read again: session-cache.ts).
          const session = await deps.sessionCache.get(docName.id, 30_000);
          return session && session.archivedAt === null ? session.projectId : null;
        }
        case 'dashboard':
          return (await deps.projects.get(docName.id)) ? docName.id : null;
        case 'test-run':
          return deps.testRuns.projectOf(docName.id);
      }
    },
  };
}
