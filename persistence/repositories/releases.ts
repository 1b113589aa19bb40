/**
 * The `releases` table: immutable ground-truth versions of a session. A row is written once and
 * never updated; its content is the release's stored encoding (docs-model/release-content.ts),
 * gzip-compressed here, so lists never read it and `contentText(id)` inflates it on demand.
 *
 *   const releases = createReleasesRepository({ knex })
 *   await releases.insert({ id, sessionId, projectId, name: 'v1', note: null, createdBy, contentHash, counts, content })
 *   await releases.insertMany([...])  // a project release: every session's, in one transaction
 *   await releases.delete(id)         // ReleaseInUseError while a test run is scored against it
 *
 * Errors are typed (`ReleaseNameTakenError`, `ReleaseInUseError`, both 409), so a route maps them
 * once; two concurrent inserts of one name are told apart by the unique constraint, not a read.
 */
import { promisify } from 'node:util';
import { gunzip, gzipSync } from 'node:zlib';
import type { Knex } from 'knex';
import { invalidContent } from '../../docs-model/errors.ts';
import { encodeReleaseContent, type ReleaseContent, type ReleaseCounts } from '../../docs-model/release-content.ts';
import { afterCursor, decodeTimeCursor, InvalidCursorError, toPage, type Page } from '../page.ts';
import type { Within } from '../within.ts';

export interface ReleaseRecord {
  id: string;
  sessionId: string;
  projectId: string;
  /** Shared by the releases one project release made together; null for a session release. */
  batchId: string | null;
  name: string;
  note: string | null;
  createdAt: string;
  createdBy: string;
  contentHash: string;
  counts: ReleaseCounts;
  /** Size of the stored (compressed) content. */
  contentBytes: number;
}

export interface NewRelease {
  id: string;
  sessionId: string;
  projectId: string;
  batchId?: string | null;
  name: string;
  note?: string | null;
  createdBy: string;
  contentHash: string;
  counts: ReleaseCounts;
  content: ReleaseContent;
  /** `storedReleaseBytes(content)`, when the caller made it already (the server does, off the event loop). */
  stored?: Uint8Array;
}

export interface ReleaseListOptions {
  limit: number;
  cursor?: string;
}

export class ReleaseNameTakenError extends Error {
  readonly code = 'release_name_taken';
  readonly status = 409;
  readonly sessionId: string;
  readonly releaseName: string;
  constructor(sessionId: string, releaseName: string) {
    super(`session '${sessionId}' already has a release named '${releaseName}'`);
    this.sessionId = sessionId;
    this.releaseName = releaseName;
    this.name = 'ReleaseNameTakenError';
  }
}

export class ReleaseInUseError extends Error {
  readonly code = 'release_in_use';
  readonly status = 409;
  readonly releaseId: string;
  readonly testRunIds: string[];
  constructor(releaseId: string, testRunIds: string[]) {
    super(`release '${releaseId}' is the ground truth of ${testRunIds.length} test run(s) (${testRunIds.slice(0, 5).join(', ')}${testRunIds.length > 5 ? ', …' : ''}): it cannot be deleted`);
    this.releaseId = releaseId;
    this.testRunIds = testRunIds;
    this.name = 'ReleaseInUseError';
  }
}

/** One project release: the releases one call made together under one name. */
export interface ReleaseBatch {
  batchId: string;
  projectId: string;
  name: string;
  createdAt: string;
  createdBy: string;
}

export interface ReleasesRepository {
  /** `within` runs in the insert's transaction (the outbox event of the release). */
  insert(release: NewRelease, within?: Within<ReleaseRecord>): Promise<ReleaseRecord>;
  /** All or none, in one transaction; ReleaseNameTakenError names the first session whose name is taken. */
  insertMany(releases: readonly NewRelease[], within?: Within<ReleaseRecord[]>): Promise<ReleaseRecord[]>;
  get(id: string): Promise<ReleaseRecord | null>;
  getByName(sessionId: string, name: string): Promise<ReleaseRecord | null>;
  /**
   * The frozen content as the text `encodeReleaseContent` wrote, inflated off the event loop (zlib's
   * thread pool), or null when there is no such release. The caller parses it (in slices:
   * server/services/release-text.ts).
   */
  contentText(id: string): Promise<string | null>;
  listBySession(sessionId: string, opts: ReleaseListOptions): Promise<Page<ReleaseRecord>>;
  listByProject(projectId: string, opts: ReleaseListOptions): Promise<Page<ReleaseRecord>>;
  /** Every release made together by one project release, in the order of the project's sessions (created_at, id). */
  listBatch(batchId: string): Promise<ReleaseRecord[]>;
  /** The project's batches (project releases), oldest first, keyset pages. */
  listBatches(projectId: string, opts: ReleaseListOptions): Promise<Page<ReleaseBatch>>;
  /** True when it existed; ReleaseInUseError while a test run names it. */
  delete(id: string): Promise<boolean>;
}

interface ReleaseRow {
  id: string;
  session_id: string;
  project_id: string;
  batch_id: string | null;
  name: string;
  note: string | null;
  created_at: Date | string;
  created_by: string;
  content_hash: string;
  counts: ReleaseCounts | string;
  content_bytes: number;
}

const LIST_COLUMNS = ['id', 'session_id', 'project_id', 'batch_id', 'name', 'note', 'created_at', 'created_by', 'content_hash', 'counts', 'content_bytes'];

const fromRow = (row: ReleaseRow): ReleaseRecord => ({
  id: row.id,
  sessionId: row.session_id,
  projectId: row.project_id,
  batchId: row.batch_id,
  name: row.name,
  note: row.note,
  createdAt: (row.created_at instanceof Date ? row.created_at : new Date(row.created_at)).toISOString(),
  createdBy: row.created_by,
  contentHash: row.content_hash,
  counts: typeof row.counts === 'string' ? (JSON.parse(row.counts) as ReleaseCounts) : row.counts,
  contentBytes: Number(row.content_bytes),
});

/**
 * A release's content as the `content` column holds it. Level 1: a 10 000-annotation release
 * compresses ~8× at a fraction of level 6's time.
 */
export const storedReleaseBytes = (content: ReleaseContent): Buffer => gzipSync(encodeReleaseContent(content), { level: 1 });

const inflate = promisify(gunzip);

const isUniqueViolation = (err: unknown, constraint: string): boolean => {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  return e?.code === '23505' && (e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint)));
};

export function createReleasesRepository({ knex }: { knex: Knex }): ReleasesRepository {
  const toRow = (r: NewRelease, now: Date) => {
    const content = r.stored ?? storedReleaseBytes(r.content);
    return {
      id: r.id,
      session_id: r.sessionId,
      project_id: r.projectId,
      batch_id: r.batchId ?? null,
      name: r.name,
      note: r.note ?? null,
      created_at: now,
      created_by: r.createdBy,
      content_hash: r.contentHash,
      counts: JSON.stringify(r.counts),
      content_bytes: content.byteLength,
      content,
    };
  };

  async function insertRows(trx: Knex | Knex.Transaction, releases: readonly NewRelease[]): Promise<ReleaseRecord[]> {
    const now = new Date();
    const out: ReleaseRecord[] = [];
    // One row per statement: each carries up to a few MB of content, and a failed row names its session.
    for (const r of releases) {
      try {
        const [row] = (await trx('releases').insert(toRow(r, now)).returning(LIST_COLUMNS)) as ReleaseRow[];
        out.push(fromRow(row!));
      } catch (err) {
        if (isUniqueViolation(err, 'releases_session_name')) throw new ReleaseNameTakenError(r.sessionId, r.name);
        throw err;
      }
    }
    return out;
  }

  const list = async (where: Record<string, string>, opts: ReleaseListOptions): Promise<Page<ReleaseRecord>> => {
    const query = knex('releases')
      .select(LIST_COLUMNS)
      .where(where)
      .orderBy([{ column: 'created_at' }, { column: 'id' }])
      .limit(opts.limit + 1);
    afterCursor(query, opts.cursor, '(created_at, id) > (?::timestamptz, ?)');
    const rows = (await query) as ReleaseRow[];
    return toPage(rows.map(fromRow), opts.limit, (r) => [r.createdAt, r.id]);
  };

  const first = async (where: Record<string, string>): Promise<ReleaseRecord | null> => {
    const row = (await knex('releases').select(LIST_COLUMNS).where(where).first()) as ReleaseRow | undefined;
    return row ? fromRow(row) : null;
  };

  return {
    async insert(release, within) {
      if (!within) return (await insertRows(knex, [release]))[0]!;
      return knex.transaction(async (trx) => {
        const [record] = await insertRows(trx, [release]);
        await within(trx, record!);
        return record!;
      });
    },
    async insertMany(releases, within) {
      if (releases.length === 0) return [];
      return knex.transaction(async (trx) => {
        const records = await insertRows(trx, releases);
        if (within) await within(trx, records);
        return records;
      });
    },
    get: (id) => first({ id }),
    getByName: (sessionId, name) => first({ session_id: sessionId, name }),
    async contentText(id) {
      const row = (await knex('releases').select('content').where({ id }).first()) as { content: Uint8Array } | undefined;
      if (!row) return null;
      const bytes = await inflate(row.content);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch (err) {
        throw invalidContent('content', `release content is not UTF-8: ${(err as Error).message}`);
      }
    },
    listBySession: (sessionId, opts) => list({ session_id: sessionId }, opts),
    listByProject: (projectId, opts) => list({ project_id: projectId }, opts),
    async listBatch(batchId) {
      // The order a project export lists the sessions in (sessions.ts listActive), so a batch exports as the project did.
      const rows = (await knex('releases as r')
        .join('sessions as s', 's.id', 'r.session_id')
        .select(LIST_COLUMNS.map((c) => `r.${c}`))
        .where({ 'r.batch_id': batchId })
        .orderBy([{ column: 's.created_at' }, { column: 's.id' }])) as ReleaseRow[];
      return rows.map(fromRow);
    },
    async listBatches(projectId, opts) {
      const query = knex('releases')
        .select('batch_id', 'project_id', 'name', 'created_by')
        .min({ created_at: 'created_at' })
        .where({ project_id: projectId })
        .whereNotNull('batch_id')
        .groupBy('batch_id', 'project_id', 'name', 'created_by')
        .orderBy([{ column: 'created_at' }, { column: 'batch_id' }])
        .limit(opts.limit + 1);
      if (opts.cursor !== undefined) {
        const key = decodeTimeCursor(opts.cursor);
        if (!key) throw new InvalidCursorError();
        query.havingRaw('(min(created_at), batch_id) > (?::timestamptz, ?)', [key[0], key[1]]);
      }
      const rows = (await query) as Array<{ batch_id: string; project_id: string; name: string; created_by: string; created_at: Date | string }>;
      const items: ReleaseBatch[] = rows.map((r) => ({
        batchId: r.batch_id,
        projectId: r.project_id,
        name: r.name,
        createdBy: r.created_by,
        createdAt: (r.created_at instanceof Date ? r.created_at : new Date(r.created_at)).toISOString(),
      }));
      return toPage(items, opts.limit, (b) => [b.createdAt, b.batchId]);
    },
    async delete(id) {
      return knex.transaction(async (trx) => {
        // The row lock makes a run naming this release wait, or fail its foreign key, until we are done.
        const row = await trx('releases').select('id').where({ id }).forUpdate().first();
        if (!row) return false;
        const users = (await trx('test_runs').select('id').where({ release_id: id }).orderBy('id')) as Array<{ id: string }>;
        if (users.length > 0) throw new ReleaseInUseError(id, users.map((u) => u.id));
        await trx('releases').where({ id }).delete();
        return true;
      });
    },
  };
}
