/**
 * The repositories the services share, built once per server over its database.
 *
 *   const repos = createRepositories(db)
 *   await repos.sessions.get(id)
 */
import type { Database } from '../../persistence/database.ts';
import { createAnnotationRepository, type AnnotationRepository } from '../../persistence/repositories/annotations.ts';
import { createProjectRepository, type ProjectRepository } from '../../persistence/repositories/projects.ts';
import { createProjectVideoRepository, type ProjectVideoRepository } from '../../persistence/repositories/project-videos.ts';
import { createSessionRepository, type SessionRepository } from '../../persistence/repositories/sessions.ts';
import { createVideoRepository, type VideoRepository } from '../../persistence/repositories/videos.ts';

export interface Repositories {
  projects: ProjectRepository;
  videos: VideoRepository;
  projectVideos: ProjectVideoRepository;
  sessions: SessionRepository;
  annotations: AnnotationRepository;
}

export function createRepositories(db: Database): Repositories {
  const { knex } = db;
  return {
    projects: createProjectRepository({ knex }),
    videos: createVideoRepository({ knex }),
    projectVideos: createProjectVideoRepository({ knex }),
    sessions: createSessionRepository({ knex }),
    annotations: createAnnotationRepository({ knex }),
  };
}
