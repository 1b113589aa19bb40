/**
 * A real session created over REST (project, video, link, session), for scripts and benches that
 * must open a document the socket's auth lets through.
 *
 *   const { docName } = await createSessionOverRest(url, adminToken)
 */
import { jsonClient } from './http.ts';

export async function createSessionOverRest(url: string, adminToken: string): Promise<{ docName: string; projectId: string; sessionId: string }> {
  const http = jsonClient(url, adminToken);
  const expect = <T>(what: string, status: number, res: { status: number; body: T; text: string }): T => {
    if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.text}`);
    return res.body;
  };
  const project = expect('project', 201, await http.post<{ id: string }>('/api/projects', { name: 'tools', labels: [{ name: 'car' }] }));
  const video = expect('video', 201, await http.post<{ id: string }>('/api/videos', { name: 'tools', uri: 's3://bucket/v.mp4', width: 640, height: 480, fps: 25, frameCount: 100 }));
  expect('link', 200, await http.post(`/api/projects/${project.id}/videos`, { videoIds: [video.id] }));
  const session = expect('session', 201, await http.post<{ id: string; docName: string }>(`/api/projects/${project.id}/sessions`, { videoId: video.id }));
  return { docName: session.docName, projectId: project.id, sessionId: session.id };
}
