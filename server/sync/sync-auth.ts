/**
 * Who may open which document over the socket. Runs while the upgrade request waits,
 * before any document is loaded or any frame read:
 * - the Origin must be allowed (when ALLOWED_ORIGINS is set)   → 4403
 * - `?token=` must verify                                       → 4401
 * - the document must exist (a session created over REST and not archived, a test run, a project
 *   for its dashboard) and the caller needs a role on its project → 4404 either way, with the
 *   same reason: ids may be chosen by callers, so a distinct 4403 would tell a stranger an id is
 *   taken (GitHub answers private repositories the same way)
 * Viewers sync sessions read-only; test-run and dashboard documents are written by the server only,
 * so every client syncs them read-only. A token with `exp` gives the principal `expiresAt`: the
 * endpoint closes the socket with 4401 then, so a socket never outlives its token.
 */
import type { IncomingMessage } from 'node:http';
import { roleOn, type TokenService } from '../services/tokens.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../base/errors.ts';
import type { Principal } from './connection.ts';
import type { Authorize } from './sync-endpoint.ts';
import type { DocName } from '../../docs-model/protocol.ts';
import type { DocumentDirectory } from '../services/document-directory.ts';

export function originAllowed(allowedOrigins: readonly string[], origin: string | undefined): boolean {
  // Non-browser clients send no Origin; a browser always does, and that is what the list governs.
  return allowedOrigins.length === 0 || origin === undefined || allowedOrigins.includes(origin);
}

export function createSyncAuthorizer(deps: {
  tokens: TokenService;
  /** Which project owns a document (null: no such document). */
  directory: DocumentDirectory;
  allowedOrigins: readonly string[];
  onRefused?(reason: string): void;
}): Authorize {
  return async (request: IncomingMessage, docName: DocName, url: URL): Promise<Principal> => {
    try {
      if (!originAllowed(deps.allowedOrigins, request.headers.origin)) {
        throw new ForbiddenError(`origin ${request.headers.origin ?? ''} is not allowed`);
      }
      const token = url.searchParams.get('token');
      if (!token) throw new UnauthorizedError('missing token: connect with params: { token }');
      const identity = await deps.tokens.verify(token);
      const projectId = await deps.directory.projectOf(docName);
      const role = projectId === null ? null : roleOn(identity, projectId);
      if (role === null) throw new NotFoundError(`no document ${docName.name}`);
      const readOnly = docName.kind !== 'session' || role === 'viewer';
      return { id: identity.id, name: identity.name, readOnly, ...(identity.expiresAt === undefined ? {} : { expiresAt: identity.expiresAt }) };
    } catch (err) {
      deps.onRefused?.(err instanceof Error ? err.constructor.name : 'unknown');
      throw err;
    }
  };
}
