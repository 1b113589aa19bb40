/**
 * The zod schemas of webhooks, their deliveries and the annotation history (docs/webhooks.md,
 * docs/history.md): the same objects check requests and make the OpenAPI document.
 */
import { z } from 'zod';
import 'zod-openapi';
import { eventTypes } from '../../persistence/repositories/events.ts';
import { historyKinds, historyOrigins } from '../../persistence/repositories/annotation-history.ts';
import { Cursor, Id, ItemId, Limit } from './schemas.ts';

const EventType = z.enum(eventTypes);

export const WebhookParams = z.object({ projectId: Id, webhookId: z.uuid() });
export const DeliveryParams = WebhookParams.extend({ deliveryId: z.uuid() });

const Secret = z.string().min(16, 'secret must be at least 16 characters').max(256);

export const WebhookCreate = z.object({
  url: z.string().min(1).max(2048).meta({ description: 'http(s); private and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true' }),
  events: z.array(EventType).min(1).max(eventTypes.length),
  secret: Secret.optional().meta({ description: 'made for you when omitted; shown only in this answer' }),
  active: z.boolean().optional(),
});

export const WebhookPatch = z
  .object({
    url: WebhookCreate.shape.url.optional(),
    events: WebhookCreate.shape.events.optional(),
    secret: Secret.optional(),
    active: z.boolean().optional().meta({ description: 'true turns a webhook the server turned off on again' }),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'nothing to change' });

export const Webhook = z
  .object({
    id: z.string(),
    projectId: z.string(),
    url: z.string(),
    events: z.array(EventType),
    active: z.boolean(),
    disabledReason: z.string().nullable().meta({ description: 'why the server turned it off (every delivery failed for 24 h)' }),
    failingSince: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Webhook' });

export const WebhookWithSecret = Webhook.extend({
  secret: z.string().meta({ description: 'the signing secret: shown once, never readable again' }),
}).meta({ id: 'WebhookWithSecret' });

export const Delivery = z
  .object({
    id: z.string().meta({ description: 'the X-Annosync-Delivery header, the same on every retry' }),
    eventId: z.string(),
    webhookId: z.string(),
    eventType: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });

export const PingResult = z
  .object({
    delivered: z.boolean(),
    statusCode: z.number().int().nullable(),
    error: z.string().nullable(),
    durationMs: z.number().int(),
  })
  .meta({ id: 'WebhookPing' });

export const HistoryQuery = z.object({
  limit: Limit(100, 1000),
  cursor: Cursor,
  since: z.iso.datetime({ offset: true }).optional().meta({ description: 'only entries at or after this time' }),
  by: z.string().min(1).max(256).optional().meta({ description: "only this author's entries (a token subject)" }),
  kind: z.enum(historyKinds).optional(),
});

export const AnnotationHistoryQuery = z.object({ limit: Limit(100, 1000), cursor: Cursor });

export const AnnotationHistoryParams = z.object({ sessionId: Id, annotationId: ItemId });

export const HistoryEntry = z
  .object({
    id: z.string(),
    sessionId: z.string(),
    annotationId: z.string().nullable(),
    trackId: z.string().nullable(),
    at: z.string(),
    by: z.string(),
    origin: z.enum(historyOrigins),
    kind: z.enum(historyKinds),
    fields: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
  })
  .meta({ id: 'HistoryEntry' });
