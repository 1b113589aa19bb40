/**
 * Webhooks as the API manages them (docs/webhooks.md): a URL checked against the address policy,
 * a secret made when none is given and shown only in the creation's answer, deliveries listed and
 * sent again, and a ping that POSTs at once and says what the receiver answered.
 *
 *   const { webhook, secret } = await webhooks.create(projectId, { url, events: ['test_run.completed'] }, 'ada')
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EventType } from '../../persistence/repositories/events.ts';
import type { DeliveryRecord, DeliveryRepository } from '../../persistence/repositories/webhook-deliveries.ts';
import type { WebhookPatch, WebhookRecord, WebhookRepository } from '../../persistence/repositories/webhooks.ts';
import type { Page } from '../../persistence/page.ts';
import type { WebhookConfig } from '../config.ts';
import { NotFoundError, ValidationError } from '../base/errors.ts';
import { checkWebhookUrl, WebhookTargetError } from '../followers/webhook-target.ts';
import { postWebhook } from '../followers/webhook-post.ts';

export interface WebhookInput {
  url: string;
  events: EventType[];
  secret?: string | undefined;
  active?: boolean | undefined;
}

export interface PingResult {
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookService {
  create(projectId: string, input: WebhookInput, actor: string): Promise<{ webhook: WebhookRecord; secret: string }>;
  list(projectId: string, opts: { limit: number; cursor?: string }): Promise<Page<WebhookRecord>>;
  get(projectId: string, id: string): Promise<WebhookRecord>;
  update(projectId: string, id: string, patch: Partial<WebhookInput>): Promise<WebhookRecord>;
  remove(projectId: string, id: string): Promise<void>;
  ping(projectId: string, id: string, actor: string): Promise<PingResult>;
  deliveries(projectId: string, id: string, opts: { limit: number; cursor?: string }): Promise<Page<DeliveryRecord>>;
  redeliver(projectId: string, id: string, deliveryId: string): Promise<DeliveryRecord>;
}

const newSecret = () => 'whsec_' + randomBytes(24).toString('base64url');

export function createWebhookService(deps: {
  hooks: WebhookRepository;
  deliveries: DeliveryRepository;
  config: WebhookConfig;
  /** Wakes the dispatcher (a redelivery is due now). */
  onQueued: () => void;
  timeoutMs?: number;
}): WebhookService {
  const timeoutMs = deps.timeoutMs ?? 10_000;

  const checkUrl = async (url: string) => {
    try {
      return (await checkWebhookUrl(url, deps.config.allowPrivate)).href;
    } catch (err) {
      if (!(err instanceof WebhookTargetError)) throw err;
      throw new ValidationError(err.message, [{ field: 'url', code: 'url_refused', message: err.message }]);
    }
  };

  const get = async (projectId: string, id: string) => {
    const hook = await deps.hooks.get(projectId, id);
    if (!hook) throw new NotFoundError(`no webhook '${id}' in project '${projectId}'`);
    return hook;
  };

  return {
    async create(projectId, input, actor) {
      const url = await checkUrl(input.url);
      const secret = input.secret ?? newSecret();
      const webhook = await deps.hooks.create({
        id: randomUUID(),
        projectId,
        url,
        events: [...new Set(input.events)],
        secret,
        ...(input.active === undefined ? {} : { active: input.active }),
        createdBy: actor,
      });
      return { webhook, secret };
    },
    list: (projectId, opts) => deps.hooks.list(projectId, opts),
    get,
    async update(projectId, id, patch) {
      await get(projectId, id);
      const changes: WebhookPatch = {};
      if (patch.url !== undefined) changes.url = await checkUrl(patch.url);
      if (patch.events !== undefined) changes.events = [...new Set(patch.events)];
      if (patch.secret !== undefined) changes.secret = patch.secret;
      if (patch.active !== undefined) changes.active = patch.active;
      const updated = await deps.hooks.update(projectId, id, changes);
      if (!updated) throw new NotFoundError(`no webhook '${id}' in project '${projectId}'`);
      return updated;
    },
    async remove(projectId, id) {
      if (!(await deps.hooks.remove(projectId, id))) throw new NotFoundError(`no webhook '${id}' in project '${projectId}'`);
    },
    async ping(projectId, id, actor) {
      const hook = await get(projectId, id);
      const secret = (await deps.hooks.secretOf(hook.id))!;
      const body = JSON.stringify({ id: randomUUID(), type: 'ping', occurredAt: new Date().toISOString(), projectId, data: { webhookId: hook.id, by: actor } });
      const started = performance.now();
      try {
        const answer = await postWebhook(
          { url: hook.url, body, secret, eventType: 'ping', deliveryId: randomUUID() },
          { timeoutMs, allowPrivate: deps.config.allowPrivate },
        );
        const ok = answer.statusCode >= 200 && answer.statusCode < 300;
        return { delivered: ok, statusCode: answer.statusCode, error: ok ? null : `HTTP ${answer.statusCode}`, durationMs: Math.round(performance.now() - started) };
      } catch (err) {
        return { delivered: false, statusCode: null, error: err instanceof Error ? err.message : String(err), durationMs: Math.round(performance.now() - started) };
      }
    },
    async deliveries(projectId, id, opts) {
      await get(projectId, id);
      return deps.deliveries.list(id, opts);
    },
    async redeliver(projectId, id, deliveryId) {
      await get(projectId, id);
      const delivery = await deps.deliveries.redeliver(id, deliveryId);
      if (!delivery) throw new NotFoundError(`no delivery '${deliveryId}' of webhook '${id}'`);
      deps.onQueued();
      return delivery;
    },
  };
}
