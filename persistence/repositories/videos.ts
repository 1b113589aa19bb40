/**
 * The `videos` table, with the list filters of GET /api/videos (tag, name search, unassigned).
 *
 *   const videos = createVideoRepository({ knex })
 *   await videos.list({ limit: 50, tag: 'night', unassigned: true })
 */
import type { Knex } from 'knex';
import { toColumns, videoFromRow, type VideoRecord, type VideoRow } from '../rows.ts';
import { afterCursor, toPage, type Page } from '../page.ts';

export type NewVideo = Omit<VideoRecord, 'createdAt' | 'updatedAt' | 'tags' | 'metadata' | 'checksum'> &
  Partial<Pick<VideoRecord, 'tags' | 'metadata' | 'checksum'>>;

export type VideoPatch = Partial<Omit<VideoRecord, 'id' | 'createdAt' | 'updatedAt'>>;

export interface VideoFilter {
  limit: number;
  cursor?: string;
  /** Videos carrying this tag. */
  tag?: string;
  /** Case-insensitive substring of the name. */
  q?: string;
  /** Only videos linked to no project. */
  unassigned?: boolean;
  /** Only videos not linked to this project (the suggestions' candidates). */
  notInProject?: string;
}

export interface VideoRepository {
  create(video: NewVideo): Promise<VideoRecord>;
  get(id: string): Promise<VideoRecord | null>;
  /** The videos with these ids that exist, in no particular order. */
  getMany(ids: readonly string[]): Promise<VideoRecord[]>;
  list(filter: VideoFilter): Promise<Page<VideoRecord>>;
  /** Every video matching the filter, unpaginated (matching scores them all). */
  listAll(filter: Omit<VideoFilter, 'limit' | 'cursor'>): Promise<VideoRecord[]>;
  update(id: string, patch: VideoPatch): Promise<VideoRecord | null>;
  delete(id: string): Promise<boolean>;
}

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function createVideoRepository({ knex }: { knex: Knex }): VideoRepository {
  const table = () => knex<VideoRow>('videos');
  const filtered = (filter: Omit<VideoFilter, 'limit' | 'cursor'>) => {
    const query = table().select('videos.*');
    if (filter.tag !== undefined) query.whereRaw('videos.tags @> ?::jsonb', [JSON.stringify([filter.tag])]);
    if (filter.q !== undefined) query.whereRaw(`videos.name ilike ? escape '\\'`, [`%${escapeLike(filter.q)}%`]);
    if (filter.unassigned) {
      query.whereNotExists(knex('project_videos').select(knex.raw('1')).whereRaw('project_videos.video_id = videos.id'));
    }
    if (filter.notInProject !== undefined) {
      const projectId = filter.notInProject;
      query.whereNotExists(
        knex('project_videos').select(knex.raw('1')).whereRaw('project_videos.video_id = videos.id').andWhere('project_videos.project_id', projectId),
      );
    }
    return query;
  };
  return {
    async create(video) {
      const now = new Date();
      const [row] = await table()
        .insert({
          ...toColumns('video', { tags: [], metadata: {}, checksum: null, ...video }),
          created_at: now,
          updated_at: now,
        } as never)
        .returning('*');
      return videoFromRow(row as VideoRow);
    },
    async get(id) {
      const row = await table().where({ id }).first();
      return row ? videoFromRow(row as VideoRow) : null;
    },
    async getMany(ids) {
      if (ids.length === 0) return [];
      const rows = (await table().whereIn('id', [...ids])) as VideoRow[];
      return rows.map(videoFromRow);
    },
    async list(filter) {
      const query = filtered(filter)
        .orderBy([{ column: 'videos.created_at' }, { column: 'videos.id' }])
        .limit(filter.limit + 1);
      afterCursor(query, filter.cursor, '(videos.created_at, videos.id) > (?::timestamptz, ?)');
      const rows = (await query) as VideoRow[];
      return toPage(rows.map(videoFromRow), filter.limit, (v) => [v.createdAt, v.id]);
    },
    async listAll(filter) {
      const rows = (await filtered(filter).orderBy([{ column: 'videos.created_at' }, { column: 'videos.id' }])) as VideoRow[];
      return rows.map(videoFromRow);
    },
    async update(id, patch) {
      const [row] = await table()
        .where({ id })
        .update({ ...toColumns('video', patch), updated_at: new Date() } as never)
        .returning('*');
      return row ? videoFromRow(row as VideoRow) : null;
    },
    async delete(id) {
      return (await table().where({ id }).delete().returning('id')).length > 0;
    },
  };
}
