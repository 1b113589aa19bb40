/**
 * Who changed what (docs/history.md): a session's history and one annotation's, oldest first,
 * recorded from every socket, REST write, import and model promotion.
 */
import { sessionRole } from '../access.ts';
import { paged } from '../../services/records.ts';
import type { Services } from '../../services/services.ts';
import { defineRoute, type Route } from '../route.ts';
import { SessionParams, pageOf } from '../schemas.ts';
import { AnnotationHistoryParams, AnnotationHistoryQuery, HistoryEntry, HistoryQuery } from '../webhook-schemas.ts';

const tag = 'history';

export function historyRoutes(deps: Services): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/history',
      tag,
      summary: "The session's history of annotation and track changes, oldest first",
      description:
        'One entry per change of an annotation or track: who (`by`), when (`at`), how (`origin`: socket, rest, import, model), ' +
        'what (`kind`: created, changed, deleted) and each field `{ from, to }`. Changes by one author within a second are one entry.',
      params: SessionParams,
      query: HistoryQuery,
      responses: { 200: { description: 'one page of entries', schema: pageOf(HistoryEntry) } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ query, authorized: session }) => ({
        body: await paged(() =>
          deps.repos.history.list(session.id, {
            limit: query.limit,
            ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
            ...(query.since === undefined ? {} : { since: new Date(query.since) }),
            ...(query.by === undefined ? {} : { by: query.by }),
            ...(query.kind === undefined ? {} : { kind: query.kind }),
          }),
        ),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:sessionId/annotations/:annotationId/history',
      tag,
      summary: "One annotation's history, oldest first (also after it was deleted)",
      params: AnnotationHistoryParams,
      query: AnnotationHistoryQuery,
      responses: { 200: { description: 'one page of entries', schema: pageOf(HistoryEntry) } },
      errors: [404],
      authorize: sessionRole(deps, 'viewer'),
      handle: async ({ params, query, authorized: session }) => ({
        body: await paged(() =>
          deps.repos.history.list(session.id, {
            limit: query.limit,
            annotationId: params.annotationId,
            ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
          }),
        ),
      }),
    }),
  ];
}
