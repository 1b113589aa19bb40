/**
 * The `sessions` table: one row per annotation session; its content lives in the document
 * `doc_name`. Deleting a session archives it (`archived_at`), so its document and history stay.
 *
 *   const sessions = createSessionRepository({ knex })
 *   await sessions.create({ id, projectId, videoId, name, docName: `session:${id}`, createdBy })
 */
import type { Knex } from 'knex';
import { sessionFromRow, toColumns, type SessionRecord, type SessionRow, type SessionStatus } from '../rows.ts';
import { afterCursor, toPage, type Page } from '../page.ts';
import { writeWithin, type Within } from '../within.ts';

export type NewSession = Pick<SessionRecord, 'id' | 'projectId' | 'videoId' | 'name' | 'docName' | 'createdBy'> & {
  status?: SessionStatus;
};

export type SessionPatch = Partial<Pick<SessionRecord, 'name' | 'status'>>;

export interface SessionListOptions {
  limit: number;
  cursor?: string;
  status?: SessionStatus;
  videoId?: string;
  includeArchived?: boolean;
}

export interface SessionRepository {
  /** `within` runs in the insert's transaction (the outbox event of the creation). */
  create(session: NewSession, within?: Within<SessionRecord>): Promise<SessionRecord>;
  /** The session, archived ones included (callers decide what an archived one means). */
  get(id: string): Promise<SessionRecord | null>;
  /** The sessions of `ids` that exist (archived ones included), in one query, in no particular order. */
  getMany(ids: readonly string[]): Promise<SessionRecord[]>;
  /** Which of `ids` have a session row (archived ones included), in one query. */
  existing(ids: readonly string[]): Promise<Set<string>>;
  listByProject(projectId: string, opts: SessionListOptions): Promise<Page<SessionRecord>>;
  /** Every session of the project that is not archived (ground-truth status). */
  listActive(projectId: string): Promise<SessionRecord[]>;
  /** `within` runs in the update's transaction with the session before and after, when there was one. */
  update(id: string, patch: SessionPatch, within?: Within<{ before: SessionRecord; after: SessionRecord }>): Promise<SessionRecord | null>;
  archive(id: string): Promise<SessionRecord | null>;
  /** Removes the row for good (undoing a creation that failed half-way). */
  remove(id: string): Promise<boolean>;
  /** True while the video has a session in the project that is neither archived nor complete. */
  hasOpenSession(projectId: string, videoId: string): Promise<boolean>;
  /** True when any session (archived or not) annotates the video. */
  videoHasSessions(videoId: string): Promise<boolean>;
}

export function createSessionRepository({ knex }: { knex: Knex }): SessionRepository {
  const table = (db: Knex | Knex.Transaction = knex) => db<SessionRow>('sessions');
  return {
    async create(session, within) {
      const now = new Date();
      return writeWithin(
        knex,
        async (db) => {
          const [row] = await table(db)
            .insert({ ...toColumns('session', { status: 'open', ...session }), created_at: now, updated_at: now } as never)
            .returning('*');
          return sessionFromRow(row as SessionRow);
        },
        within,
      );
    },
    async get(id) {
      const row = (await table().where({ id }).first()) as SessionRow | undefined;
      return row ? sessionFromRow(row) : null;
    },
    async getMany(ids) {
      if (ids.length === 0) return [];
      const rows = (await table().whereIn('id', [...ids])) as SessionRow[];
      return rows.map(sessionFromRow);
    },
    async existing(ids) {
      if (ids.length === 0) return new Set();
      const rows = (await table().whereIn('id', [...ids]).select('id')) as Pick<SessionRow, 'id'>[];
      return new Set(rows.map((row) => row.id));
    },
    async listByProject(projectId, opts) {
      const query = table()
        .where({ project_id: projectId })
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
        .limit(opts.limit + 1);
      if (!opts.includeArchived) query.whereNull('archived_at');
      if (opts.status !== undefined) query.andWhere({ status: opts.status });
      if (opts.videoId !== undefined) query.andWhere({ video_id: opts.videoId });
      afterCursor(query, opts.cursor, '(created_at, id) > (?::timestamptz, ?)');
      const rows = (await query) as SessionRow[];
      return toPage(rows.map(sessionFromRow), opts.limit, (s) => [s.createdAt, s.id]);
    },
    async listActive(projectId) {
      const rows = (await table().where({ project_id: projectId }).whereNull('archived_at').orderBy([{ column: 'created_at' }, { column: 'id' }])) as SessionRow[];
      return rows.map(sessionFromRow);
    },
    async update(id, patch, within) {
      const apply = async (db: Knex | Knex.Transaction) => {
        const [row] = await table(db)
          .where({ id })
          .whereNull('archived_at')
          .update({ ...toColumns('session', patch), updated_at: new Date() } as never)
          .returning('*');
        return row ? sessionFromRow(row as SessionRow) : null;
      };
      if (!within) return apply(knex);
      return knex.transaction(async (trx) => {
        const locked = (await table(trx).where({ id }).whereNull('archived_at').forUpdate().first()) as SessionRow | undefined;
        if (!locked) return null;
        const after = await apply(trx);
        if (after) await within(trx, { before: sessionFromRow(locked), after });
        return after;
      });
    },
    async archive(id) {
      const now = new Date();
      const [row] = await table()
        .where({ id })
        .whereNull('archived_at')
        .update({ archived_at: now, updated_at: now } as never)
        .returning('*');
      return row ? sessionFromRow(row as SessionRow) : null;
    },
    async remove(id) {
      return (await table().where({ id }).delete().returning('id')).length > 0;
    },
    async hasOpenSession(projectId, videoId) {
      const row = await table()
        .where({ project_id: projectId, video_id: videoId })
        .whereNull('archived_at')
        .whereNot({ status: 'complete' })
        .first('id');
      return row !== undefined;
    },
    async videoHasSessions(videoId) {
      return (await table().where({ video_id: videoId }).first('id')) !== undefined;
    },
  };
}
