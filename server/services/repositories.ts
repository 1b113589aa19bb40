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
import { createEventRepository, type EventRepository } from '../../persistence/repositories/events.ts';
import { createWebhookRepository, type WebhookRepository } from '../../persistence/repositories/webhooks.ts';
import { createDeliveryRepository, type DeliveryRepository } from '../../persistence/repositories/webhook-deliveries.ts';
import { createHistoryRepository, type HistoryRepository } from '../../persistence/repositories/annotation-history.ts';
import { createReleasesRepository, type ReleasesRepository } from '../../persistence/repositories/releases.ts';
import { createSecretBox, type SecretBox } from '../../persistence/secret-box.ts';
import { randomBytes } from 'node:crypto';

export interface Repositories {
  projects: ProjectRepository;
  videos: VideoRepository;
  projectVideos: ProjectVideoRepository;
  sessions: SessionRepository;
  annotations: AnnotationRepository;
  events: EventRepository;
  webhooks: WebhookRepository;
  deliveries: DeliveryRepository;
  history: HistoryRepository;
  releases: ReleasesRepository;
}

/**
 * `box` seals webhook secrets: the server passes one keyed from AUTH_SECRET. Without one (tests and
 * benches that never restart) a key made for this process only is used.
 */
export function createRepositories(db: Database, box: SecretBox = createSecretBox(randomBytes(32).toString('base64url'), 'webhook-secrets')): Repositories {
  const { knex } = db;
  return {
    projects: createProjectRepository({ knex }),
    videos: createVideoRepository({ knex }),
    projectVideos: createProjectVideoRepository({ knex }),
    sessions: createSessionRepository({ knex }),
    annotations: createAnnotationRepository({ knex }),
    events: createEventRepository({ knex }),
    webhooks: createWebhookRepository({ knex, box }),
    deliveries: createDeliveryRepository({ knex, box }),
    history: createHistoryRepository({ knex }),
    releases: createReleasesRepository({ knex }),
  };
}
