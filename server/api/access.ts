/**
 * The authorisation checks of the REST API (docs/architecture.md, "Auth"). Every route that touches
 * a project says who may call it in its `authorize` (route.ts), which runs before the body is
 * read; the identity comes from the bearer token, verified once per request by
 * `server/http/auth-middleware.ts`.
 *
 *   viewer: read · annotator: edit annotations and tracks · manager: also the project, its labels,
 *   links, sessions and imports · admin: everything, including creating projects and videos.
 *
 * A session or test run is addressed by its id alone, and callers may choose ids, so a 403 would
 * tell anyone with a token that an id is taken. As GitHub does for private repositories, a caller
 * with no role at all on the resource's project gets the very 404 a missing id gets; a caller
 * with a lower role gets 403, since it may know the resource. Project routes answer 403 before
 * looking anything up, for every project id, so they leak nothing and stay as they are.
 *
 *   authorize: projectRole('manager')              // /api/projects/:projectId…
 *   authorize: sessionRole(deps, 'annotator')      // /api/sessions/:sessionId…; handle gets the session
 *   authorize: adminOnly
 */
import type { Context } from 'koa';
import type { SessionRecord } from '../../persistence/rows.ts';
import { assertAdmin, assertRole, roleOn, type Identity, type Role } from '../services/tokens.ts';
import { NotFoundError, UnauthorizedError } from '../base/errors.ts';
import { findSession } from '../services/records.ts';
import { type Services } from '../services/services.ts';

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
 * Looks up a resource by id and checks `role` on its project. A missing resource and one in a
 * project the caller has no role on both throw `notFound()` — one error made in one place, so
 * status, code and message cannot drift apart; the lookup's own 404 is replaced by it. Below
 * `role` but with some role: 403.
 */
export async function requireRoleOnFound<T extends { projectId: string }>(
  ctx: Context,
  role: Role,
  find: () => Promise<T>,
  notFound: () => NotFoundError,
): Promise<T> {
  const identity = identityOf(ctx);
  let found: T | null;
  try {
    found = await find();
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    found = null;
  }
  if (found === null || roleOn(identity, found.projectId) === null) throw notFound();
  assertRole(identity, found.projectId, role);
  return found;
}

/**
 * `authorize` of a route under `/api/sessions/:sessionId`: 404 for a session that is not there or
 * whose project the caller has no role on, 403 below `role`. The session is the handler's `authorized`.
 */
export const sessionRole =
  (deps: Services, role: Role) =>
  ({ params, ctx }: { params: { sessionId: string }; ctx: Context }): Promise<SessionRecord> =>
    requireRoleOnFound(ctx, role, () => findSession(deps, params.sessionId), () => new NotFoundError(`no session '${params.sessionId}'`));

/** `authorize` of the routes only admins may call. */
export const adminOnly = ({ ctx }: { ctx: Context }): Promise<void> => requireAdmin(ctx);

/** Who is calling, for `assignedBy`, `createdBy` and annotation authorship. */
export function actorOf(ctx: Context): string {
  const identity = ctx.state.identity as Identity | undefined;
  return identity?.id ?? 'anonymous';
}
