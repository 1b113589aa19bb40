/**
 * The counts a project dashboard shows, each one grouped query over the relational
 * tables: sessions by status, annotations (the projection) by label and status, linked videos by
 * ground-truth status (none: no session; complete: a complete session; in_progress otherwise, as
 * `GET /projects/:id/ground-truth/videos` says). Archived sessions are left out everywhere.
 *
 *   const stats = createDashboardStatsRepository({ knex })
 *   await stats.annotationsByLabel(projectId)   // → { car: { draft: 3, validated: 1 } }
 */
import { GROUND_TRUTH_STATUSES, SESSION_STATUSES } from '../../docs-model/types.ts';
import type { Knex } from 'knex';

export interface DashboardStatsRepository {
  sessionsByStatus(projectId: string): Promise<Record<string, number>>;
  annotationsByLabel(projectId: string): Promise<Record<string, Record<string, number>>>;
  videosByGroundTruthStatus(projectId: string): Promise<Record<string, number>>;
}

const VIDEOS_SQL = `
  select status, count(*)::int as n from (
    select case
      when count(s.id) = 0 then 'none'
      when bool_or(s.status = 'complete') then 'complete'
      else 'in_progress' end as status
    from project_videos pv
    left join sessions s on s.project_id = pv.project_id and s.video_id = pv.video_id and s.archived_at is null
    where pv.project_id = ?
    group by pv.video_id
  ) per_video group by status`;

export function createDashboardStatsRepository({ knex }: { knex: Knex }): DashboardStatsRepository {
  return {
    async sessionsByStatus(projectId) {
      const rows = (await knex('sessions')
        .where({ project_id: projectId })
        .whereNull('archived_at')
        .groupBy('status')
        .select('status', knex.raw('count(*)::int as n'))) as Array<{ status: string; n: number | string }>;
      const out: Record<string, number> = Object.fromEntries(SESSION_STATUSES.map((status) => [status, 0]));
      for (const row of rows) out[row.status] = Number(row.n);
      return out;
    },
    async annotationsByLabel(projectId) {
      const rows = (await knex('annotations as a')
        .join('sessions as s', 's.id', 'a.session_id')
        .where('s.project_id', projectId)
        .whereNull('s.archived_at')
        .groupBy('a.label', 'a.status')
        .orderBy('a.label')
        .select('a.label', 'a.status', knex.raw('count(*)::int as n'))) as Array<{ label: string; status: string; n: number | string }>;
      const out: Record<string, Record<string, number>> = Object.create(null) as Record<string, Record<string, number>>;
      for (const row of rows) (out[row.label] ??= {})[row.status] = Number(row.n);
      return { ...out };
    },
    async videosByGroundTruthStatus(projectId) {
      const result = (await knex.raw(VIDEOS_SQL, [projectId])) as { rows: Array<{ status: string; n: number | string }> };
      const out: Record<string, number> = Object.fromEntries(GROUND_TRUTH_STATUSES.map((status) => [status, 0]));
      for (const row of result.rows) out[row.status] = Number(row.n);
      return out;
    },
  };
}
