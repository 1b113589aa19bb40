/**
 * The `project_videos` table: which videos a project uses for ground truth, who linked them, when.
 *
 *   const links = createProjectVideoRepository({ knex })
 *   await links.assign('p1', ['v1', 'v2'], 'alice')   // → the links that were new
 */
import type { Knex } from 'knex';
import { projectVideoFromRow, videoFromRow, type ProjectVideoRecord, type ProjectVideoRow, type VideoRecord, type VideoRow } from '../rows.ts';

export interface LinkedVideo {
  video: VideoRecord;
  link: ProjectVideoRecord;
}

export interface ProjectVideoRepository {
  /** Links the videos (already linked ones are left as they are); returns the links created now. */
  assign(projectId: string, videoIds: readonly string[], assignedBy: string): Promise<ProjectVideoRecord[]>;
  unassign(projectId: string, videoId: string): Promise<boolean>;
  get(projectId: string, videoId: string): Promise<ProjectVideoRecord | null>;
  /** The project's videos with their links, oldest link first. */
  list(projectId: string): Promise<LinkedVideo[]>;
}

type JoinedRow = VideoRow & { link_project_id: string; link_assigned_by: string; link_assigned_at: Date | string };

export function createProjectVideoRepository({ knex }: { knex: Knex }): ProjectVideoRepository {
  const table = () => knex<ProjectVideoRow>('project_videos');
  return {
    async assign(projectId, videoIds, assignedBy) {
      if (videoIds.length === 0) return [];
      const now = new Date();
      const rows = [...new Set(videoIds)].map((videoId) => ({
        project_id: projectId,
        video_id: videoId,
        assigned_by: assignedBy,
        assigned_at: now,
      }));
      const inserted = (await table().insert(rows).onConflict(['project_id', 'video_id']).ignore().returning('*')) as ProjectVideoRow[];
      return inserted.map(projectVideoFromRow);
    },
    async unassign(projectId, videoId) {
      return (await table().where({ project_id: projectId, video_id: videoId }).delete().returning('video_id')).length > 0;
    },
    async get(projectId, videoId) {
      const row = (await table().where({ project_id: projectId, video_id: videoId }).first()) as ProjectVideoRow | undefined;
      return row ? projectVideoFromRow(row) : null;
    },
    async list(projectId) {
      const rows = (await knex('project_videos')
        .join('videos', 'videos.id', 'project_videos.video_id')
        .where('project_videos.project_id', projectId)
        .orderBy([{ column: 'project_videos.assigned_at' }, { column: 'videos.id' }])
        .select(
          'videos.*',
          'project_videos.project_id as link_project_id',
          'project_videos.assigned_by as link_assigned_by',
          'project_videos.assigned_at as link_assigned_at',
        )) as JoinedRow[];
      return rows.map((row) => ({
        video: videoFromRow(row),
        link: projectVideoFromRow({
          project_id: row.link_project_id,
          video_id: row.id,
          assigned_by: row.link_assigned_by,
          assigned_at: row.link_assigned_at,
        }),
      }));
    },
  };
}
