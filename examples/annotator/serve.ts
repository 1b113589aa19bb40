/**
 * `npm run example`: builds the annotator against the built `annosync/client`, serves it, and
 * starts an annosync server for it (embedded PGlite in `data/example`, a development secret kept
 * there, the page's origin allowed), or uses yours: `ANNOSYNC_URL=http://… AUTH_SECRET=… npm run example`
 * (that server must list the page's origin in ALLOWED_ORIGINS). With no project yet, it makes a
 * demo project, video and session. Prints the page's address, prefilled with a token for "Ada",
 * and a second one for "Bob" to try two annotators side by side.
 *
 *   npm run example                     # page on http://127.0.0.1:5173
 *   EXAMPLE_PORT=8080 npm run example
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { buildAnnotator } from './build.ts';
import { serveStatic } from './static-server.ts';

const root = path.resolve(import.meta.dirname, '../..');

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    [
      'npm run example — the browser annotator (examples/annotator) with a development annosync server',
      '',
      'environment:',
      '  EXAMPLE_PORT   port of the page (default 5173; 0: any free port)',
      '  ANNOSYNC_URL   use this annosync server instead of starting one (with AUTH_SECRET: its secret)',
      '  AUTH_SECRET    secret of ANNOSYNC_URL, to mint the development tokens',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

/** The development secret: kept next to the example's data so tokens survive restarts. */
function devSecret(dataDir: string): string {
  const file = path.join(dataDir, 'dev-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

const mint = (secret: string, sub: string, name: string) =>
  new SignJWT({ sub, name, admin: true })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(secret));

function startServer(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve({ url: match[1], child });
    });
    child.once('exit', (code) => reject(new Error(`annosync exited (${code}) before listening:\n${out}`)));
  });
}

async function api<T>(server: string, token: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server}${route}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A demo project, video and session when the server has no project yet. */
async function seed(server: string, token: string): Promise<void> {
  const { items } = await api<{ items: unknown[] }>(server, token, 'GET', '/api/projects');
  if (items.length > 0) return;
  const project = await api<{ id: string }>(server, token, 'POST', '/api/projects', {
    name: 'Demo: street scenes',
    labels: [{ name: 'car', color: '#e5484d' }, { name: 'person', color: '#3e63dd' }, { name: 'bike', color: '#30a46c' }],
  });
  // No media: the annotator shows a frame canvas of the video's size with the frame number.
  const video = await api<{ id: string }>(server, token, 'POST', '/api/videos', { name: 'street-001', uri: 'file:///no-media/street-001.mp4', width: 1280, height: 720, fps: 25, frameCount: 250 });
  await api(server, token, 'POST', `/api/projects/${project.id}/videos`, { videoIds: [video.id] });
  await api(server, token, 'POST', `/api/projects/${project.id}/sessions`, { videoId: video.id, name: 'street-001 boxes' });
}

const port = Number(process.env.EXAMPLE_PORT ?? 5173);
const page = await serveStatic(await buildAnnotator(), { port });
let server = process.env.ANNOSYNC_URL ?? '';
let secret = process.env.AUTH_SECRET ?? '';
let child: ChildProcess | null = null;
if (!server) {
  const dataDir = path.join(root, 'data/example');
  mkdirSync(dataDir, { recursive: true });
  secret = devSecret(dataDir);
  ({ url: server, child } = await startServer({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', AUTH_SECRET: secret, ALLOWED_ORIGINS: page.url, LOG_LEVEL: 'warn' }));
}
if (secret) {
  const [ada, bob] = await Promise.all([mint(secret, 'ada', 'Ada'), mint(secret, 'bob', 'Bob')]);
  await seed(server, ada);
  page.setConfig({ server, token: ada, name: 'Ada' });
  process.stdout.write(
    [
      `annotator: ${page.url}`,
      `annosync:  ${server}${child ? ' (started for the example, data in data/example)' : ''}`,
      `a second annotator (Bob): ${page.url}/#${new URLSearchParams({ server, token: bob, name: 'Bob' })}`,
      '',
    ].join('\n'),
  );
} else {
  process.stdout.write(`annotator: ${page.url} (enter a token for ${server})\n`);
}

const stop = () => {
  child?.kill('SIGTERM');
  void page.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
