/**
 * From nothing to a COCO file over REST: a project with labels, a video, a session, a few boxes
 * and a short track, then the export (tracks expanded to one box per frame) and its loss summary.
 *
 *   ANNOSYNC_URL=http://127.0.0.1:1234 ANNOSYNC_TOKEN=<admin token> npx tsx examples/rest-export.ts [out.json]
 */
import { writeFileSync } from 'node:fs';

const url = process.env.ANNOSYNC_URL ?? 'http://127.0.0.1:1234';
const token = process.env.ANNOSYNC_TOKEN ?? '';

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const project = await api<{ id: string }>('POST', '/api/projects', {
  name: 'Pedestrians',
  labels: [{ name: 'person', color: '#e53935' }, { name: 'car' }],
});
const video = await api<{ id: string }>('POST', '/api/videos', {
  name: 'crossing.mp4',
  uri: 's3://videos/crossing.mp4',
  width: 1280,
  height: 720,
  fps: 25,
  frameCount: 250,
});
await api('POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });
const session = await api<{ id: string; docName: string }>('POST', `/api/projects/${project.id}/sessions`, { videoId: video.id });

const track = await api<{ id: string }>('POST', `/api/sessions/${session.id}/tracks`, { label: 'person' });
await api('POST', `/api/sessions/${session.id}/annotations`, [
  { frame: 0, bbox: [100, 200, 40, 90], label: 'person', trackId: track.id },
  { frame: 10, bbox: [200, 200, 40, 90], label: 'person', trackId: track.id },
  { frame: 11, bbox: [200, 200, 40, 90], label: 'person', trackId: track.id, outside: true }, // left the view
  { frame: 5, bbox: [600, 400, 180, 90], label: 'car' },
]);

const response = await fetch(`${url}/api/sessions/${session.id}/export?format=coco`, {
  headers: { authorization: `Bearer ${token}` },
});
if (!response.ok) throw new Error(`export: ${response.status} ${await response.text()}`);
const coco = (await response.json()) as { images: unknown[]; annotations: unknown[]; categories: unknown[] };
const out = process.argv[2];
if (out) writeFileSync(out, JSON.stringify(coco));
process.stdout.write(
  `session ${session.id}: COCO with ${coco.images.length} images, ${coco.annotations.length} boxes ` +
    `(the track's keyframes at 0 and 10 expand to 11 boxes), ${coco.categories.length} categories; ` +
    `loss: ${response.headers.get('x-annosync-loss') ?? 'none'}${out ? `; written to ${out}` : ''}\n`,
);
