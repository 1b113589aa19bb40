/**
 * The authorisation checks of the REST API (DESIGN.md "Auth", issue 5). Every route that touches
 * a project says who may call it in its `authorize` (route.ts), which runs before the body is
 * read; the identity comes from the bearer token, verified once per request by
 * `server/http/auth-middleware.ts`.
 *
 *   viewer: read · annotator: edit annotations and tracks · manager: also the project, its labels,
 *   links, sessions and imports · admin: everything, including creating projects and videos.
 *
 *   authorize: projectRole('manager')              // /api/projects/:projectId…
 *   authorize: sessionRole(deps, 'annotator')      // /api/sessions/:sessionId…; handle gets the session
 *   authorize: adminOnly
 */
import type { Context } from 'koa';
import type { SessionRecord } from '../../persistence/rows.ts';
import { assertAdmin, assertRole, type Identity, type Role } from '../auth.ts';
import { UnauthorizedError } from '../errors.ts';
import { findSession, type ApiDeps } from './context.ts';

export type { Role };

function identityOf(ctx: Context): Identity {
  const identity = ctx.state.identity as Identity | undefined;
  if (!identity) throw new UnauthorizedError('missing bearer token');
  return identity;
}

/** Throws ForbiddenError / UnauthorizedError when the caller lacks `role` on the project. */
export async function requireRole(ctx: Context, projectId: string, role: Role): Promise<void> {
  assertRole(identityOf(ctx), projectId, role);
}

/** Only admins may manage the video catalogue and create projects. */
export async function requireAdmin(ctx: Context): Promise<void> {
  assertAdmin(identityOf(ctx));
}

/** `authorize` of a route under `/api/projects/:projectId`: 403 without `role` on it (whether or not it exists). */
export const projectRole =
  (role: Role) =>
  ({ params, ctx }: { params: { projectId: string }; ctx: Context }): Promise<void> =>
    requireRole(ctx, params.projectId, role);

/**
 * `authorize` of a route under `/api/sessions/:sessionId`: 404 for a session that is not there,
 * then 403 without `role` on its project. The session is the handler's `authorized`.
 */
export const sessionRole =
  (deps: ApiDeps, role: Role) =>
  async ({ params, ctx }: { params: { sessionId: string }; ctx: Context }): Promise<SessionRecord> => {
    const session = await findSession(deps, params.sessionId);
    await requireRole(ctx, session.projectId, role);
    return session;
  };

/** `authorize` of the routes only admins may call. */
export const adminOnly = ({ ctx }: { ctx: Context }): Promise<void> => requireAdmin(ctx);

/** Who is calling, for `assignedBy`, `createdBy` and annotation authorship. */
export function actorOf(ctx: Context): string {
  const identity = ctx.state.identity as Identity | undefined;
  return identity?.id ?? 'anonymous';
}
