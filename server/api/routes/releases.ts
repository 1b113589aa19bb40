/**
 * Ground-truth releases (docs/releases.md): `/api/sessions/:sessionId/releases[/:releaseId[/export|/diff]]`
 * and `/api/projects/:projectId/releases[/:batchId[/export]]`.
 *
 * Roles: making and deleting a release needs manager (it decides what models are scored
 * against); reading, exporting and diffing need viewer. Exports go through the formats routes'
 * own code (formats.ts `sessionExport`, `projectExport`) over the frozen content, so a release
 * exports byte for byte as the session (or project) did when it was made.
 */
import { requireRole, sessionRole, actorOf } from '../access.ts';
import { findProject } from '../../services/records.ts';
import { toReleaseBody } from '../../services/releases.ts';
import type { Services } from '../../services/services.ts';
import { ExportQuery, LossReportBody, ProjectExportQuery } from '../format-schemas.ts';
import { DiffQuery, ProjectRelease, ProjectReleaseParams, Release, ReleaseCreate, ReleaseDiff, ReleaseListQuery, ReleaseParams } from '../release-schemas.ts';
import { defineRoute, type Route } from '../route.ts';
import { pageOf, ProjectParams, SessionParams } from '../schemas.ts';
import { projectExport, sessionExport } from './formats.ts';

const tag = 'releases';

export function releaseRoutes(deps: Services): Route[] {
  const service = deps.releases;
  /** The project route's role first, for every project id, as every project route does. */
  const projectViewer = async ({ params, ctx }: { params: { projectId: string }; ctx: Parameters<typeof requireRole>[0] }) => {
    await requireRole(ctx, params.projectId, 'viewer');
    return findProject(deps, params.projectId);
  };
  return [
    defineRoute({
      method: 'post',
      path: '/api/sessions/:sessionId/releases',
      tag,
      summary: "Freeze the session's ground truth as an immutable release",
      description:
        'Freezes the content once every write the session received is committed (an edit racing the release is entirely in it or entirely out), ' +
        'hashes its canonical form (contentHash) and counts it. 409 for a name the session has already, or a session without video meta. Needs manager. ' +
        'Emits session.released.',
      params: SessionParams,
      body: ReleaseCreate,
      responses: { 201: { description: 'the release', schema: Release } },
      errors: [403, 404, 409],
      authorize: sessionRole(deps, 'manager'),
      handle: async ({ body, ctx, authorized: session }) => {
        const release = await service.createForSession(session, body, actorOf(ctx));
        return { status: 201, body: toReleaseBody(release), headers: { Location: `/api/sessions/${session.id}/releases/${release.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/releases',
      tag,
      summary: "List the session's releases, oldest first",
      params: SessionParams,
      query: ReleaseListQuery,
      responses: { 200: { description: 'one page of releases', schema: pageOf(Release) } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ query, authorized: session }) => {
        const page = await service.listBySession(session.id, { limit: query.limit, ...(query.cursor === undefined ? {} : { cursor: query.cursor }) });
        return { body: { items: page.items.map(toReleaseBody), nextCursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/releases/:releaseId',
      tag,
      summary: 'Get a release',
      params: ReleaseParams,
      responses: { 200: { description: 'the release', schema: Release } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ params }) => ({ body: toReleaseBody(await service.find(params.releaseId, params.sessionId)) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/api/sessions/:sessionId/releases/:releaseId',
      tag,
      summary: 'Delete a release',
      description: '409 while a test run is scored against it (the answer names the runs). Needs manager.',
      params: ReleaseParams,
      responses: { 204: { description: 'deleted' } },
      errors: [403, 404, 409],
      authorize: sessionRole(deps, 'manager'),
      handle: async ({ params }) => {
        await service.remove(await service.find(params.releaseId, params.sessionId));
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/releases/:releaseId/export',
      tag,
      summary: 'Export a release in any format of the session export',
      description: 'The same query and answer as GET /api/sessions/:id/export, over the frozen content: byte-identical to exporting the session when the release was made.',
      params: ReleaseParams,
      query: ExportQuery,
      responses: { 200: { description: 'the file, or the loss report with report=true', schema: LossReportBody } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ params, query }) => {
        const release = await service.find(params.releaseId, params.sessionId);
        return sessionExport(await service.content(release.id), `session-${release.sessionId}-release-${release.id}`, query);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/releases/:releaseId/diff',
      tag,
      summary: 'What changed from a release to another release of the session, or to the live document',
      description:
        'Tracks, then annotations, by id: added and removed with the whole item, changed with { field, from, to } per field and the IoU of a moved box; ' +
        "per-label counts both sides. to=live compares with the document now. Paged (limit, cursor = the previous page's nextCursor); summary=true for the counts only.",
      params: ReleaseParams,
      query: DiffQuery,
      responses: { 200: { description: 'the diff', schema: ReleaseDiff } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ params, query }) => {
        const from = await service.find(params.releaseId, params.sessionId);
        return {
          body: await service.diff(from, query.to, { limit: query.limit, ...(query.cursor === undefined ? {} : { cursor: query.cursor }), ...(query.summary ? { summary: true } : {}) }),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:projectId/releases',
      tag,
      summary: 'Release every session of the project under one name, in one transaction',
      description: "One release per active session, all or none: 409 naming the first session that has the name already. The answer's batchId addresses them together. Needs manager.",
      params: ProjectParams,
      body: ReleaseCreate,
      responses: { 201: { description: 'the project release', schema: ProjectRelease } },
      errors: [403, 404, 409],
      authorize: async ({ params, ctx }) => {
        await requireRole(ctx, params.projectId, 'manager');
        return findProject(deps, params.projectId);
      },
      handle: async ({ body, ctx, authorized: project }) => {
        const made = await service.createForProject(project.id, body, actorOf(ctx));
        return { status: 201, body: made, headers: { Location: `/api/projects/${project.id}/releases/${made.batchId}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/releases',
      tag,
      summary: "List the project's releases (each with its sessions' releases), oldest first",
      params: ProjectParams,
      query: ReleaseListQuery,
      responses: { 200: { description: 'one page of project releases', schema: pageOf(ProjectRelease) } },
      errors: [403, 404],
      authorize: projectViewer,
      handle: async ({ query, authorized: project }) => ({
        body: await service.listProjectReleases(project.id, { limit: query.limit, ...(query.cursor === undefined ? {} : { cursor: query.cursor }) }),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/releases/:batchId',
      tag,
      summary: 'Get a project release',
      params: ProjectReleaseParams,
      responses: { 200: { description: 'the project release', schema: ProjectRelease } },
      errors: [403, 404],
      authorize: projectViewer,
      handle: async ({ params }) => ({ body: await service.batch(params.projectId, params.batchId) }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/releases/:batchId/export',
      tag,
      summary: 'Export a project release in any format of the project export',
      description: 'The same query and answer as GET /api/projects/:id/export, over the frozen contents: byte-identical to exporting the project when the release was made.',
      params: ProjectReleaseParams,
      query: ProjectExportQuery,
      responses: { 200: { description: 'the file, or the loss report with report=true', schema: LossReportBody } },
      errors: [403, 404],
      authorize: projectViewer,
      handle: async ({ params, query }) => {
        const batch = await service.batch(params.projectId, params.batchId);
        const sessions = [];
        for (const r of batch.releases) sessions.push({ sessionId: r.sessionId, content: await service.content(r.id) });
        return projectExport(params.projectId, sessions, `project-${params.projectId}-release-${batch.batchId}`, query);
      },
    }),
  ];
}
