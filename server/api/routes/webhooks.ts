/**
 * Webhooks of a project (docs/webhooks.md): managers create, list, change, delete and ping them,
 * and see and repeat their deliveries. Each route is one call of the webhook service.
 */
import { projectRole } from '../access.ts';
import { actorOf } from '../access.ts';
import { paged } from '../../services/records.ts';
import type { Services } from '../../services/services.ts';
import { defineRoute, type Route } from '../route.ts';
import { PageQuery, ProjectParams, pageOf } from '../schemas.ts';
import { Delivery, DeliveryParams, PingResult, Webhook, WebhookCreate, WebhookParams, WebhookPatch, WebhookWithSecret } from '../webhook-schemas.ts';

const tag = 'webhooks';

export function webhookRoutes(deps: Services): Route[] {
  const base = '/api/projects/:projectId/webhooks';
  return [
    defineRoute({
      method: 'post',
      path: base,
      tag,
      summary: 'Subscribe a URL to events of the project',
      description:
        'Answers with the signing secret, once: it is stored sealed and never shown again. Deliveries are POSTs signed with ' +
        '`X-Annosync-Signature-256: sha256=<HMAC-SHA256 of the raw body>` (docs/webhooks.md). 422 for a URL that is not http(s) or points at a private address.',
      params: ProjectParams,
      body: WebhookCreate,
      responses: { 201: { description: 'the webhook with its secret', schema: WebhookWithSecret } },
      authorize: projectRole('manager'),
      handle: async ({ params, body, ctx }) => {
        const { webhook, secret } = await deps.webhooks.create(params.projectId, body, actorOf(ctx));
        return { status: 201, body: { ...webhook, secret }, headers: { Location: `${base.replace(':projectId', params.projectId)}/${webhook.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: base,
      tag,
      summary: "List the project's webhooks, oldest first",
      params: ProjectParams,
      query: PageQuery,
      responses: { 200: { description: 'one page of webhooks', schema: pageOf(Webhook) } },
      authorize: projectRole('manager'),
      handle: async ({ params, query }) => ({
        body: await paged(() => deps.webhooks.list(params.projectId, { limit: query.limit, ...(query.cursor === undefined ? {} : { cursor: query.cursor }) })),
      }),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/:webhookId`,
      tag,
      summary: 'Get a webhook (never its secret)',
      params: WebhookParams,
      responses: { 200: { description: 'the webhook', schema: Webhook } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params }) => ({ body: await deps.webhooks.get(params.projectId, params.webhookId) }),
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/:webhookId`,
      tag,
      summary: 'Change a webhook: URL, events, secret, or turn it on or off',
      params: WebhookParams,
      body: WebhookPatch,
      responses: { 200: { description: 'the webhook', schema: Webhook } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params, body }) => ({ body: await deps.webhooks.update(params.projectId, params.webhookId, body) }),
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/:webhookId`,
      tag,
      summary: 'Delete a webhook and its deliveries',
      params: WebhookParams,
      responses: { 204: { description: 'deleted' } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params }) => {
        await deps.webhooks.remove(params.projectId, params.webhookId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/:webhookId/ping`,
      tag,
      summary: 'Send a `ping` event now and say what the receiver answered',
      description: 'Not queued and not retried: the answer is the outcome of this one POST (10 s at most).',
      params: WebhookParams,
      responses: { 200: { description: 'what the receiver answered', schema: PingResult } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params, ctx }) => ({ body: await deps.webhooks.ping(params.projectId, params.webhookId, actorOf(ctx)) }),
    }),
    defineRoute({
      method: 'get',
      path: `${base}/:webhookId/deliveries`,
      tag,
      summary: "A webhook's deliveries, newest first: status, attempts, last answer",
      params: WebhookParams,
      query: PageQuery,
      responses: { 200: { description: 'one page of deliveries', schema: pageOf(Delivery) } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params, query }) => ({
        body: await paged(() =>
          deps.webhooks.deliveries(params.projectId, params.webhookId, { limit: query.limit, ...(query.cursor === undefined ? {} : { cursor: query.cursor }) }),
        ),
      }),
    }),
    defineRoute({
      method: 'post',
      path: `${base}/:webhookId/deliveries/:deliveryId/redeliver`,
      tag,
      summary: 'Queue a delivery again, due now, with a fresh 24 h retry window',
      description: 'The delivery keeps its id (receivers drop repeats by it). A webhook that is turned off delivers once it is turned on again.',
      params: DeliveryParams,
      responses: { 202: { description: 'queued', schema: Delivery } },
      errors: [404],
      authorize: projectRole('manager'),
      handle: async ({ params }) => ({ status: 202, body: await deps.webhooks.redeliver(params.projectId, params.webhookId, params.deliveryId) }),
    }),
  ];
}
