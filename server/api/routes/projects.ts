/**
 * `/api/projects`: CRUD of projects with their label schema and matching criteria. Labels added
 * later also reach the project's sessions, so annotators can use them at once.
 */
import { randomUUID } from 'node:crypto';
import { setLabel } from '../../../docs-model/index.ts';
import { ConflictError, NotFoundError } from '../../base/errors.ts';
import type { LabelSpec } from '../../../persistence/rows.ts';
import { actorOf, adminOnly, projectRole } from '../access.ts';
import { roleOn, type Identity } from '../../services/tokens.ts';
import { changeSessionDoc } from '../../services/session-documents.ts';
import { findProject, paged } from '../../services/records.ts';
import { type Services } from '../../services/services.ts';
import { defineRoute, type Route } from '../route.ts';
import { ForceQuery, PageQuery, Project, ProjectCreate, ProjectLabelsAdd, ProjectParams, ProjectPatch, pageOf } from '../schemas.ts';

const tag = 'projects';

/** Writes label definitions into every active session of the project. */
async function spreadLabels(deps: Services, projectId: string, labels: LabelSpec[], actor: string): Promise<void> {
  if (labels.length === 0) return;
  for (const session of await deps.repos.sessions.listActive(projectId)) {
    await changeSessionDoc(deps, session, actor, (ydoc, origin) => {
      for (const { name, ...def } of labels) setLabel(ydoc, name, def, { origin });
    });
  }
}

export function projectRoutes(deps: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects',
      tag,
      summary: 'List projects, oldest first',
      query: PageQuery,
      responses: { 200: { description: 'one page of projects', schema: pageOf(Project) } },
      handle: async ({ query, ctx }) => {
        const page = await paged(() => deps.repos.projects.list(query));
        // A page lists only the projects the caller has a role on (admins see all).
        const identity = ctx.state.identity as Identity | undefined;
        return { body: { ...page, items: page.items.filter((project) => identity && roleOn(identity, project.id) !== null) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects',
      tag,
      summary: 'Create a project',
      body: ProjectCreate,
      responses: { 201: { description: 'the project', schema: Project } },
      authorize: adminOnly,
      handle: async ({ body }) => {
        const project = await deps.repos.projects.create({ id: randomUUID(), ...body });
        return { status: 201, body: project, headers: { Location: `/api/projects/${project.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId',
      tag,
      summary: 'Get a project',
      params: ProjectParams,
      responses: { 200: { description: 'the project', schema: Project } },
      errors: [404],
      authorize: projectRole('viewer'),
      handle: async ({ params }) => ({ body: await findProject(deps, params.projectId) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/api/projects/:projectId',
      tag,
      summary: 'Change a project',
      description: 'A new label list replaces the schema; sessions get new and changed labels, and keep the labels they have.',
      params: ProjectParams,
      body: ProjectPatch,
      responses: { 200: { description: 'the project', schema: Project } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params, body, ctx }) => {
        const project = await deps.repos.projects.update(params.projectId, body);
        if (!project) throw new NotFoundError(`no project '${params.projectId}'`);
        if (body.labels) await spreadLabels(deps, project.id, body.labels, actorOf(ctx));
        return { body: project };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:projectId/labels',
      tag,
      summary: 'Add labels (or change the definition of existing ones)',
      params: ProjectParams,
      body: ProjectLabelsAdd,
      responses: { 200: { description: 'the project', schema: Project } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params, body, ctx }) => {
        const current = await findProject(deps, params.projectId);
        const byName = new Map(current.labels.map((l) => [l.name, l]));
        for (const label of body.labels) byName.set(label.name, label);
        const project = await deps.repos.projects.update(current.id, { labels: [...byName.values()] });
        if (!project) throw new NotFoundError(`no project '${params.projectId}'`);
        await spreadLabels(deps, project.id, body.labels, actorOf(ctx));
        return { body: project };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:projectId',
      tag,
      summary: 'Delete a project',
      description: 'Refused with 409 while the project has sessions that are not deleted, unless force=true.',
      params: ProjectParams,
      query: ForceQuery,
      responses: { 204: { description: 'deleted' } },
      errors: [404, 409],
      authorize: projectRole('manager'),
      handle: async ({ params, query }) => {
        await findProject(deps, params.projectId);
        const active = await deps.repos.sessions.listActive(params.projectId);
        if (active.length > 0 && !query.force) {
          throw new ConflictError(`the project has ${active.length} session(s); delete them first or pass force=true`, {
            sessions: active.map((s) => s.id),
          });
        }
        await deps.repos.projects.delete(params.projectId);
        for (const session of active) deps.sessionCache.forget(session.id);
        return { status: 204 };
      },
    }),
  ];
}
