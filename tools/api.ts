/**
 * REST helpers for the API tests: a started server with the API mounted, a tiny JSON
 * client over real HTTP (fetch), and fixtures (a project with labels, a video, a linked session).
 *
 *   const test = suite<ApiSuiteContext>(`projects (${kind})`)
 *   withApiServer(test, kind)                // one server on fresh storage for the suite: ctx.t
 *   const t = await startApiServer(storage)  // or by hand
 *   const { session } = await linkedSession(t.http)
 *   await t.http.post(`/api/sessions/${session.id}/annotations`, { frame: 0, bbox: [0, 0, 5, 5], label: 'car' })
 */
import type { Knex } from 'knex';
import type { Test } from 'uvu';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from './server.ts';
import type { DatabaseKind } from './databases.ts';
import type { ConfigOverrides } from '../server/config.ts';
import type { Api } from '../server/api/index.ts';
import type { DocRegistry } from '../server/documents/doc-registry.ts';
import type { z } from 'zod';
import { docName } from '../docs-model/protocol.ts';
import type * as S from '../server/api/schemas.ts';

export type ProjectBody = z.output<typeof S.Project>;
export type VideoBody = z.output<typeof S.Video>;
export type SessionBody = z.output<typeof S.Session>;
export type SessionDetailBody = z.output<typeof S.SessionDetail>;
export type AnnotationBody = z.output<typeof S.Annotation>;
export type AnnotationPageBody = z.output<typeof S.AnnotationPage>;
export type TrackBody = z.output<typeof S.Track>;
export type LinkBody = z.output<typeof S.VideoProjectLink>;
export type Items<T> = { items: T[]; nextCursor?: string | null };
export interface ErrorResponse {
  error: { code: string; message: string; details?: Array<{ field?: string; code: string; message: string; index?: number }> };
}

export { jsonClient, type HttpResult, type JsonClient } from './http.ts';
import { jsonClient, type JsonClient } from './http.ts';

export interface ApiTestServer {
  url: string;
  /** Signs a token with the server's secret (for role tests). */
  token: TestServer['token'];
  adminToken: string;
  http: JsonClient;
  knex: Knex;
  registry: DocRegistry;
  api: Api;
  stop(): Promise<void>;
}

/** The real server (createServer through tools/server.ts), checked to mount the REST API. */
export async function startApiServer(storage: TestStorage, overrides: ConfigOverrides = {}): Promise<ApiTestServer> {
  const t = await startTestServer(storage, overrides);
  const http = jsonClient(t.url, t.adminToken);
  const probe = await http.get('/api/openapi.json');
  if (probe.status !== 200) {
    await t.stop();
    throw new Error('createServer does not mount the REST API (server/api/index.ts createApi) yet');
  }
  return { url: t.url, token: t.token, adminToken: t.adminToken, http, knex: t.server.db.knex, registry: t.server.registry, api: t.server.api, stop: t.stop };
}

export interface ApiSuiteContext {
  storage: TestStorage;
  t: ApiTestServer;
}

/** The hooks an API suite shares: one server with the API on fresh storage of `kind`, stopped after the suite. */
export function withApiServer<C extends ApiSuiteContext>(test: Test<C>, kind: DatabaseKind): void {
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.t = await startApiServer(ctx.storage);
  });
  test.after(async (ctx) => {
    await ctx.t.stop();
    await ctx.storage.cleanup();
  });
}

let counter = 0;

export const LABELS = [{ name: 'car', color: '#f00' }, { name: 'person' }, { name: 'bike' }];

export async function createProject(http: JsonClient, body: Record<string, unknown> = {}): Promise<ProjectBody> {
  const res = await http.post<ProjectBody>('/api/projects', { name: `project ${++counter}`, labels: LABELS, ...body });
  if (res.status !== 201) throw new Error(`project: ${res.status} ${res.text}`);
  return res.body;
}

export async function createVideo(http: JsonClient, body: Record<string, unknown> = {}): Promise<VideoBody> {
  const res = await http.post<VideoBody>('/api/videos', { name: `video ${++counter}`, uri: 's3://bucket/v.mp4', width: 640, height: 480, fps: 25, frameCount: 100, ...body });
  if (res.status !== 201) throw new Error(`video: ${res.status} ${res.text}`);
  return res.body;
}

/** A project, a linked video and a session on it. */
export async function linkedSession(http: JsonClient, opts: { project?: Record<string, unknown>; video?: Record<string, unknown> } = {}) {
  const project = await createProject(http, opts.project);
  const video = await createVideo(http, opts.video);
  const link = await http.post(`/api/projects/${project.id}/videos`, { videoIds: [video.id] });
  if (link.status !== 200) throw new Error(`link: ${link.status} ${link.text}`);
  const res = await http.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: video.id });
  if (res.status !== 201) throw new Error(`session: ${res.status} ${res.text}`);
  return { project, video, session: res.body };
}

/** A new session (project, linked video, session) created over REST; its document name. */
export async function newSessionDoc(url: string, adminToken: string): Promise<{ docName: string; projectId: string; sessionId: string }> {
  const { project, session } = await linkedSession(jsonClient(url, adminToken));
  const name = docName('session', session.id);
  if (!name) throw new Error(`session ${session.id} has an invalid document name`);
  return { docName: name.name, projectId: project.id, sessionId: session.id };
}
