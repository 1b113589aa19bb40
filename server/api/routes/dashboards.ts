/**
 * `GET /api/projects/:projectId/dashboard` (the content of `dashboard:<projectId>` as JSON,
 * computed on demand) and `GET /api/sessions/:sessionId/participants`. Both need viewer.
 */
import { projectRole, sessionRole } from '../access.ts';
import { findProject } from '../../services/records.ts';
import { type Services } from '../../services/services.ts';
import { defineRoute, type Route } from '../route.ts';
import { ProjectParams, SessionParams, listOf } from '../schemas.ts';
import { Dashboard, Participant } from '../test-run-schemas.ts';

export function dashboardRoutes(deps: Services): Route[] {
  const { dashboards } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:projectId/dashboard',
      tag: 'dashboards',
      summary: "The project's dashboard, as the live dashboard:<projectId> document shows it",
      description:
        'Sessions by status, annotations by label and status, linked videos by ground-truth status, who is annotating now and where, runs not finished with their progress, and the last 50 activity events (joined, left, imported, run-started, run-finished; kept in memory).',
      params: ProjectParams,
      responses: { 200: { description: 'the dashboard', schema: Dashboard } },
      errors: [403, 404],
      authorize: projectRole('viewer'),
      handle: async ({ params }) => {
        await findProject(deps, params.projectId);
        return { body: await dashboards.compute(params.projectId) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/participants',
      tag: 'sessions',
      summary: 'Who is in a session now: name, current frame, since when',
      description: "From the clients' awareness states (`user.name`, and the frame as `frame`, `user.frame` or `cursor.frame`).",
      params: SessionParams,
      responses: { 200: { description: 'the participants, earliest first', schema: listOf(Participant) } },
      errors: [403, 404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ authorized: session }) => ({ body: { items: dashboards.participants(session.id) } }),
    }),
  ];
}
