/**
 * The authorisation seam of the REST API. Every route that touches a project calls `requireRole`
 * before it reads or writes; today it allows everyone (issue 3), and the security issue replaces
 * this module's body with the JWT roles of DESIGN.md "Auth" without touching the routes.
 *
 *   await requireRole(ctx, project.id, 'annotator')
 */
import type { Context } from 'koa';

export type Role = 'viewer' | 'annotator' | 'manager';

/** Throws ForbiddenError / UnauthorizedError when the caller lacks `role` on the project. */
export async function requireRole(_ctx: Context, _projectId: string, _role: Role): Promise<void> {
  // Allows everything until auth lands (DESIGN.md "Auth").
}

/** Only admins may manage the video catalogue and create projects. */
export async function requireAdmin(_ctx: Context): Promise<void> {
  // Allows everything until auth lands.
}

/** Who is calling, for `assignedBy`, `createdBy` and annotation authorship. */
export function actorOf(ctx: Context): string {
  const principal: unknown = ctx.state.principal;
  if (typeof principal === 'object' && principal !== null && 'id' in principal) {
    const id = (principal as { id: unknown }).id;
    if (typeof id === 'string' && id !== '') return id;
  }
  return 'anonymous';
}
