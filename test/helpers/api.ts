/**
 * REST helpers for the API tests (issue 3): a started server with the API mounted, a tiny JSON
 * client over real HTTP (fetch), and fixtures (a project with labels, a video, a linked session).
 *
 *   const t = await startApiServer(storage)
 *   const { session } = await linkedSession(t.http)
 *   await t.http.post(`/api/sessions/${session.id}/annotations`, { frame: 0, bbox: [0, 0, 5, 5], label: 'car' })
 */
import type { Knex } from 'knex';
import { startTestServer, type TestStorage } from './server.ts';
import type { ConfigOverrides } from '../../server/config.ts';
import type { DocRegistry } from '../../server/doc-registry.ts';
import type { z } from 'zod';
import type * as S from '../../server/api/schemas.ts';

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

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface JsonClient {
  request<T = unknown>(method: string, path: string, body?: unknown, init?: { headers?: Record<string, string>; raw?: string | Uint8Array }): Promise<HttpResult<T>>;
  get<T = unknown>(path: string): Promise<HttpResult<T>>;
  post<T = unknown>(path: string, body?: unknown): Promise<HttpResult<T>>;
  patch<T = unknown>(path: string, body?: unknown): Promise<HttpResult<T>>;
  delete<T = unknown>(path: string): Promise<HttpResult<T>>;
}

export function jsonClient(baseUrl: string): JsonClient {
  const request = async <T>(method: string, path: string, body?: unknown, init: { headers?: Record<string, string>; raw?: string | Uint8Array } = {}): Promise<HttpResult<T>> => {
    const headers: Record<string, string> = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers };
    const payload = init.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const res = await fetch(baseUrl + path, { method, headers, ...(payload === undefined ? {} : { body: payload as BodyInit }) });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  };
  return {
    request,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    patch: (path, body) => request('PATCH', path, body),
    delete: (path) => request('DELETE', path),
  };
}

export interface ApiTestServer {
  url: string;
  http: JsonClient;
  knex: Knex;
  registry: DocRegistry;
  stop(): Promise<void>;
}

/** The real server (createServer through test/helpers/server.ts), checked to mount the REST API. */
export async function startApiServer(storage: TestStorage, overrides: ConfigOverrides = {}): Promise<ApiTestServer> {
  const t = await startTestServer(storage, overrides);
  const http = jsonClient(t.url);
  const probe = await http.get('/api/openapi.json');
  if (probe.status !== 200) {
    await t.stop();
    throw new Error('createServer does not mount the REST API (server/api/index.ts createApi) yet');
  }
  return { url: t.url, http, knex: t.server.db.knex, registry: t.server.registry, stop: t.stop };
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
