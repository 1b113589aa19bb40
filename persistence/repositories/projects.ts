/**
 * The `projects` table.
 *
 *   const projects = createProjectRepository({ knex })
 *   const p = await projects.create({ id, name: 'Pedestrians', labels: [{ name: 'person' }] })
 */
import type { Knex } from 'knex';
import { projectFromRow, toColumns, type LabelSpec, type MatchingCriteria, type ProjectRecord, type ProjectRow } from '../rows.ts';
import { afterCursor, toPage, type Page } from '../page.ts';

export interface NewProject {
  id: string;
  name: string;
  description?: string;
  labels?: LabelSpec[];
  criteria?: MatchingCriteria;
}

export type ProjectPatch = Partial<Pick<ProjectRecord, 'name' | 'description' | 'labels' | 'criteria'>>;

export interface ProjectRepository {
  create(project: NewProject): Promise<ProjectRecord>;
  get(id: string): Promise<ProjectRecord | null>;
  list(opts: { limit: number; cursor?: string }): Promise<Page<ProjectRecord>>;
  /** Null when there is no such project. */
  update(id: string, patch: ProjectPatch): Promise<ProjectRecord | null>;
  delete(id: string): Promise<boolean>;
}

export function createProjectRepository({ knex }: { knex: Knex }): ProjectRepository {
  const table = () => knex<ProjectRow>('projects');
  return {
    async create(project) {
      const now = new Date();
      const [row] = await table()
        .insert({
          ...toColumns('project', { description: '', labels: [], criteria: {}, ...project }),
          created_at: now,
          updated_at: now,
        } as never)
        .returning('*');
      return projectFromRow(row as ProjectRow);
    },
    async get(id) {
      const row = await table().where({ id }).first();
      return row ? projectFromRow(row as ProjectRow) : null;
    },
    async list({ limit, cursor }) {
      const query = table().orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(limit + 1);
      afterCursor(query, cursor, '(created_at, id) > (?::timestamptz, ?)');
      const rows = (await query) as ProjectRow[];
      return toPage(rows.map(projectFromRow), limit, (p) => [p.createdAt, p.id]);
    },
    async update(id, patch) {
      const [row] = await table()
        .where({ id })
        .update({ ...toColumns('project', patch), updated_at: new Date() } as never)
        .returning('*');
      return row ? projectFromRow(row as ProjectRow) : null;
    },
    async delete(id) {
      return (await table().where({ id }).delete().returning('id')).length > 0;
    },
  };
}
