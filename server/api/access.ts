/**
 * The authorisation checks of the REST API (DESIGN.md "Auth", issue 5). Every route that touches
 * a project calls `requireRole` before it reads or writes; the identity comes from the bearer
 * token, verified once per request by `server/http/auth-middleware.ts`.
 *
 *   viewer: read · annotator: edit annotations and tracks · manager: also the project, its labels,
 *   links, sessions and imports · admin: everything, including creating projects and videos.
 *
 *   await requireRole(ctx, project.id, 'annotator')
 */
import type { Context } from 'koa';
import { assertAdmin, assertRole, type Identity, type Role } from '../auth.ts';
import { UnauthorizedError } from '../errors.ts';

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

/** Who is calling, for `assignedBy`, `createdBy` and annotation authorship. */
export function actorOf(ctx: Context): string {
  const identity = ctx.state.identity as Identity | undefined;
  return identity?.id ?? 'anonymous';
}
