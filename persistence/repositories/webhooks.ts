/**
 * The `webhooks` table: a project's subscriptions to its events (docs/webhooks.md). Secrets go in
 * sealed (persistence/secret-box.ts) and come out only through `secretOf`, for signing; records
 * never carry them.
 *
 *   const hooks = createWebhookRepository({ knex, box })
 *   await hooks.create({ id, projectId, url, events: ['test_run.completed'], secret, createdBy })
 */
import type { Knex } from 'knex';
import { afterCursor, toPage, type Page } from '../page.ts';
import type { SecretBox } from '../secret-box.ts';
import type { EventType } from './events.ts';

export interface WebhookRecord {
  id: string;
  projectId: string;
  url: string;
  events: EventType[];
  active: boolean;
  /** Why the server turned it off (it failed for too long); null while active or turned off by hand. */
  disabledReason: string | null;
  /** Since when every delivery has failed; null after a success. */
  failingSince: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewWebhook {
  id: string;
  projectId: string;
  url: string;
  events: EventType[];
  secret: string;
  active?: boolean;
  createdBy: string;
}

export type WebhookPatch = Partial<Pick<NewWebhook, 'url' | 'events' | 'secret' | 'active'>>;

export interface WebhookRepository {
  create(hook: NewWebhook): Promise<WebhookRecord>;
  get(projectId: string, id: string): Promise<WebhookRecord | null>;
  list(projectId: string, opts: { limit: number; cursor?: string }): Promise<Page<WebhookRecord>>;
  /** Turning one on again clears why it was turned off and since when it failed. */
  update(projectId: string, id: string, patch: WebhookPatch): Promise<WebhookRecord | null>;
  remove(projectId: string, id: string): Promise<boolean>;
  /** The plain secret, for signing. */
  secretOf(id: string): Promise<string | null>;
  /** Records a failed delivery: starts the failing period if none is running; returns its start. */
  noteFailure(id: string, at: Date): Promise<string | null>;
  noteSuccess(id: string): Promise<void>;
  disable(id: string, reason: string): Promise<void>;
}

interface WebhookRow {
  id: string;
  project_id: string;
  url: string;
  events: EventType[] | string;
  secret_sealed: string;
  active: boolean;
  disabled_reason: string | null;
  failing_since: Date | string | null;
  created_by: string;
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (v: Date | string) => new Date(v).toISOString();

export const webhookFromRow = (row: WebhookRow): WebhookRecord => ({
  id: row.id,
  projectId: row.project_id,
  url: row.url,
  events: typeof row.events === 'string' ? (JSON.parse(row.events) as EventType[]) : row.events,
  active: row.active,
  disabledReason: row.disabled_reason,
  failingSince: row.failing_since === null ? null : iso(row.failing_since),
  createdBy: row.created_by,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export function createWebhookRepository({ knex, box }: { knex: Knex; box: SecretBox }): WebhookRepository {
  const table = () => knex<WebhookRow>('webhooks');
  return {
    async create(hook) {
      const now = new Date();
      const [row] = await table()
        .insert({
          id: hook.id,
          project_id: hook.projectId,
          url: hook.url,
          events: JSON.stringify(hook.events),
          secret_sealed: box.seal(hook.secret),
          active: hook.active ?? true,
          created_by: hook.createdBy,
          created_at: now,
          updated_at: now,
        } as never)
        .returning('*');
      return webhookFromRow(row as WebhookRow);
    },
    async get(projectId, id) {
      const row = (await table().where({ project_id: projectId, id }).first()) as WebhookRow | undefined;
      return row ? webhookFromRow(row) : null;
    },
    async list(projectId, opts) {
      const query = table()
        .where({ project_id: projectId })
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
        .limit(opts.limit + 1);
      afterCursor(query, opts.cursor, '(created_at, id) > (?::timestamptz, ?)');
      const rows = (await query) as WebhookRow[];
      return toPage(rows.map(webhookFromRow), opts.limit, (h) => [h.createdAt, h.id]);
    },
    async update(projectId, id, patch) {
      const columns: Record<string, unknown> = { updated_at: new Date() };
      if (patch.url !== undefined) columns.url = patch.url;
      if (patch.events !== undefined) columns.events = JSON.stringify(patch.events);
      if (patch.secret !== undefined) columns.secret_sealed = box.seal(patch.secret);
      if (patch.active !== undefined) {
        columns.active = patch.active;
        if (patch.active) Object.assign(columns, { disabled_reason: null, failing_since: null });
      }
      const [row] = await table().where({ project_id: projectId, id }).update(columns as never).returning('*');
      return row ? webhookFromRow(row as WebhookRow) : null;
    },
    async remove(projectId, id) {
      return (await table().where({ project_id: projectId, id }).delete().returning('id')).length > 0;
    },
    async secretOf(id) {
      const row = (await table().where({ id }).first('secret_sealed')) as Pick<WebhookRow, 'secret_sealed'> | undefined;
      return row ? box.open(row.secret_sealed) : null;
    },
    async noteFailure(id, at) {
      const [row] = await table()
        .where({ id })
        .update({ failing_since: knex.raw('coalesce(failing_since, ?)', [at]) } as never)
        .returning('failing_since');
      const since = (row as Pick<WebhookRow, 'failing_since'> | undefined)?.failing_since ?? null;
      return since === null ? null : iso(since);
    },
    async noteSuccess(id) {
      await table().where({ id }).whereNotNull('failing_since').update({ failing_since: null } as never);
    },
    async disable(id, reason) {
      await table()
        .where({ id })
        .update({ active: false, disabled_reason: reason, updated_at: new Date() } as never);
    },
  };
}
