/**
 * The annotator page: enter the server and a token (prefilled by `npm run example` in
 * development), pick a project and a session over REST, and annotate. The open session is kept in
 * the address (`#server=…&session=…`), so a reload — also while offline — opens it again from
 * this device's copy.
 */
import { openSession, getMeta, type AnnotationSession } from 'annosync/client';
import { createApi, tokenClaims } from './api.ts';
import { openWorkspace, type Workspace } from './workspace.ts';

interface Settings {
  server: string;
  token: string;
  name: string;
  session: string;
  offline: boolean;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

const input = (id: string) => $<HTMLInputElement>(id);

/** What the page knows: the address first, then development defaults (config.json, if served). */
async function loadSettings(): Promise<Settings> {
  const hash = new URLSearchParams(location.hash.slice(1));
  let dev: Partial<Settings> = {};
  if (!hash.has('token')) {
    dev = (await fetch('config.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}))) as Partial<Settings>;
  }
  const pick = (key: 'server' | 'token' | 'name' | 'session') => hash.get(key) ?? dev[key] ?? '';
  return { server: pick('server'), token: pick('token'), name: pick('name'), session: pick('session'), offline: hash.get('offline') !== '0' };
}

function showSettings(s: Settings): void {
  input('server').value = s.server;
  input('token').value = s.token;
  input('name').value = s.name || tokenClaims(s.token).name || '';
  input('offline').checked = s.offline;
}

function readSettings(session: string): Settings {
  return { server: input('server').value.trim(), token: input('token').value.trim(), name: input('name').value.trim(), session, offline: input('offline').checked };
}

function remember(s: Settings): void {
  const hash = new URLSearchParams({ server: s.server, token: s.token, name: s.name, session: s.session, offline: s.offline ? '1' : '0' });
  history.replaceState(null, '', `#${hash.toString()}`);
}

const option = (value: string, text: string) => Object.assign(document.createElement('option'), { value, textContent: text });

async function pickProjects(): Promise<void> {
  const s = readSettings('');
  const api = createApi(s.server, s.token);
  $('pick-error').textContent = '';
  try {
    const projects = await api.projects();
    $<HTMLSelectElement>('project').replaceChildren(option('', '— project —'), ...projects.map((p) => option(p.id, p.name)));
  } catch (error) {
    $('pick-error').textContent = (error as Error).message;
  }
}

async function pickSessions(projectId: string): Promise<void> {
  const s = readSettings('');
  try {
    const sessions = await createApi(s.server, s.token).sessions(projectId);
    $<HTMLSelectElement>('session').replaceChildren(option('', '— session —'), ...sessions.map((x) => option(x.id, `${x.name || x.id} (${x.status})`)));
  } catch (error) {
    $('pick-error').textContent = (error as Error).message;
  }
}

/** Loads the session's video when the browser can play its uri; otherwise frames stay placeholders. */
async function loadVideo(s: Settings, session: AnnotationSession, workspace: Workspace): Promise<void> {
  const meta = getMeta(session.doc);
  if (!meta) return;
  const video = await createApi(s.server, s.token).video(meta.videoId).catch(() => null);
  if (!video || !/^(https?:|blob:|data:|\/)/.test(video.uri)) return;
  const el = Object.assign(document.createElement('video'), { src: video.uri, muted: true, preload: 'auto', crossOrigin: 'anonymous' });
  el.addEventListener('loadeddata', () => workspace.setVideo(el), { once: true });
}

let current: { session: AnnotationSession; workspace: Workspace } | null = null;

async function open(s: Settings): Promise<void> {
  current?.workspace.destroy();
  current?.session.destroy();
  current = null;
  remember(s);
  const by = tokenClaims(s.token).sub ?? s.name;
  performance.mark('annotator:open');
  const session = await openSession({ url: s.server, sessionId: s.session, token: s.token, offline: s.offline, user: { name: s.name || by } });
  // A token that expires on an open connection: ask for a fresh one and reconnect with it.
  session.on('tokenExpired', () => {
    const fresh = prompt('Your token expired. Paste a fresh one to go on:');
    if (fresh) {
      input('token').value = fresh;
      remember({ ...s, token: fresh });
      session.setToken(fresh);
    }
  });
  session.on('closed', (code, reason) => ($('status').textContent = `closed by the server (${code}) ${reason}`));
  $('workspace').hidden = false;
  $('title').textContent = `session ${s.session}`;
  await session.whenLoaded;
  if (!getMeta(session.doc)) await session.whenSynced;
  performance.mark('annotator:loaded');
  const workspace = openWorkspace(
    session,
    {
      canvas: $<HTMLCanvasElement>('canvas'),
      frameInput: input('frame'),
      frameCount: $('frame-count'),
      labelSelect: $<HTMLSelectElement>('label'),
      trackMode: input('track-mode'),
      buttons: {
        prev: $<HTMLButtonElement>('prev'),
        next: $<HTMLButtonElement>('next'),
        undo: $<HTMLButtonElement>('undo'),
        redo: $<HTMLButtonElement>('redo'),
        del: $<HTMLButtonElement>('delete'),
        outside: $<HTMLButtonElement>('outside'),
      },
      peers: $<HTMLUListElement>('peers'),
      status: $('status'),
    },
    by,
  );
  current = { session, workspace };
  Object.assign(window, { annotator: current });
  void loadVideo(s, session, workspace);
}

async function main(): Promise<void> {
  // The app's files kept for offline reloads (sw.ts); the session itself is in IndexedDB.
  void navigator.serviceWorker?.register('sw.js').catch(() => undefined);
  const settings = await loadSettings();
  showSettings(settings);
  $('connect').addEventListener('click', () => void pickProjects());
  $<HTMLSelectElement>('project').addEventListener('change', (e) => void pickSessions((e.target as HTMLSelectElement).value));
  $('open').addEventListener('click', () => {
    const id = $<HTMLSelectElement>('session').value;
    if (id) void open(readSettings(id));
  });
  if (settings.session && settings.token) await open(settings);
  else if (settings.token) await pickProjects();
}

void main();
