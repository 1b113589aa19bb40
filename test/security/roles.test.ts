/**
 * Each role × each kind of route and socket: viewers read; annotators edit annotations
 * and tracks; managers also the project, its labels, links and sessions; admins everything,
 * including projects and videos. A user with no role on the project gets 403 on project routes and
 * 404 / 4404 for its sessions and documents, as if they did not exist (existence.test.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { databaseKinds } from '../../tools/databases.ts';
import { createVideo, jsonClient, linkedSession, type AnnotationBody, type JsonClient, type SessionBody, type TrackBody } from '../../tools/api.ts';
import { alive, isPermissionDenied, openSocket, roleTokens, syncMessage, updateOfSize, ROLE_NAMES, type RoleName } from '../helpers/security.ts';

const RANK: Record<RoleName, number> = { stranger: 0, viewer: 1, annotator: 2, manager: 3, admin: 4 };

interface Fixture {
  admin: JsonClient;
  projectId: string;
  videoId: string;
  sessionId: string;
  annotationId: string;
  trackId: string;
}

interface RouteCase {
  name: string;
  /** The least role that may do it. */
  needs: Exclude<RoleName, 'stranger'>;
  /** The status the allowed roles get. */
  ok: number;
  /** Addressed by session id: a caller with no role on its project is told it does not exist. */
  bySession?: true;
  run(http: JsonClient, fx: Fixture): Promise<{ status: number; text: string }>;
}

/** Fresh resources for a write, made by the admin, so every attempt has its own target. */
const fresh = {
  annotation: async (fx: Fixture) => {
    const res = await fx.admin.post<AnnotationBody>(`/api/sessions/${fx.sessionId}/annotations`, { frame: 1, bbox: [1, 1, 5, 5], label: 'car' });
    if (res.status !== 201) throw new Error(`annotation: ${res.status} ${res.text}`);
    return res.body.id;
  },
  track: async (fx: Fixture) => {
    const res = await fx.admin.post<TrackBody>(`/api/sessions/${fx.sessionId}/tracks`, { label: 'car' });
    if (res.status !== 201) throw new Error(`track: ${res.status} ${res.text}`);
    return res.body.id;
  },
  session: async (fx: Fixture) => {
    const res = await fx.admin.post<SessionBody>(`/api/projects/${fx.projectId}/sessions`, { videoId: fx.videoId });
    if (res.status !== 201) throw new Error(`session: ${res.status} ${res.text}`);
    return res.body.id;
  },
};

const routes: RouteCase[] = [
  { name: 'read the project', needs: 'viewer', ok: 200, run: (h, fx) => h.get(`/api/projects/${fx.projectId}`) },
  { name: "list the project's sessions", needs: 'viewer', ok: 200, run: (h, fx) => h.get(`/api/projects/${fx.projectId}/sessions`) },
  { name: "list the project's videos", needs: 'viewer', ok: 200, run: (h, fx) => h.get(`/api/projects/${fx.projectId}/videos`) },
  { name: 'read a session', needs: 'viewer', bySession: true, ok: 200, run: (h, fx) => h.get(`/api/sessions/${fx.sessionId}`) },
  { name: 'list annotations', needs: 'viewer', bySession: true, ok: 200, run: (h, fx) => h.get(`/api/sessions/${fx.sessionId}/annotations`) },
  { name: 'read an annotation', needs: 'viewer', bySession: true, ok: 200, run: (h, fx) => h.get(`/api/sessions/${fx.sessionId}/annotations/${fx.annotationId}`) },
  { name: 'list tracks', needs: 'viewer', bySession: true, ok: 200, run: (h, fx) => h.get(`/api/sessions/${fx.sessionId}/tracks`) },
  {
    name: 'create an annotation',
    needs: 'annotator',
    bySession: true,
    ok: 201,
    run: (h, fx) => h.post(`/api/sessions/${fx.sessionId}/annotations`, { frame: 2, bbox: [2, 2, 5, 5], label: 'person' }),
  },
  {
    name: 'patch an annotation',
    needs: 'annotator',
    bySession: true,
    ok: 200,
    run: async (h, fx) => h.patch(`/api/sessions/${fx.sessionId}/annotations/${await fresh.annotation(fx)}`, { label: 'bike' }),
  },
  {
    name: 'delete an annotation',
    needs: 'annotator',
    bySession: true,
    ok: 204,
    run: async (h, fx) => h.delete(`/api/sessions/${fx.sessionId}/annotations/${await fresh.annotation(fx)}`),
  },
  { name: 'create a track', needs: 'annotator', bySession: true, ok: 201, run: (h, fx) => h.post(`/api/sessions/${fx.sessionId}/tracks`, { label: 'person' }) },
  {
    name: 'patch a track',
    needs: 'annotator',
    bySession: true,
    ok: 200,
    run: async (h, fx) => h.patch(`/api/sessions/${fx.sessionId}/tracks/${await fresh.track(fx)}`, { interpolation: 'none' }),
  },
  { name: 'delete a track', needs: 'annotator', bySession: true, ok: 204, run: async (h, fx) => h.delete(`/api/sessions/${fx.sessionId}/tracks/${await fresh.track(fx)}`) },
  { name: 'rename a session', needs: 'annotator', bySession: true, ok: 200, run: (h, fx) => h.patch(`/api/sessions/${fx.sessionId}`, { name: 'renamed' }) },
  { name: 'patch the project', needs: 'manager', ok: 200, run: (h, fx) => h.patch(`/api/projects/${fx.projectId}`, { description: 'changed' }) },
  { name: 'add labels', needs: 'manager', ok: 200, run: (h, fx) => h.post(`/api/projects/${fx.projectId}/labels`, { labels: [{ name: 'truck' }] }) },
  {
    name: 'link a video',
    needs: 'manager',
    ok: 200,
    run: async (h, fx) => h.post(`/api/projects/${fx.projectId}/videos`, { videoIds: [(await createVideo(fx.admin)).id] }),
  },
  {
    name: 'unlink a video',
    needs: 'manager',
    ok: 204,
    run: async (h, fx) => {
      const video = await createVideo(fx.admin);
      await fx.admin.post(`/api/projects/${fx.projectId}/videos`, { videoIds: [video.id] });
      return h.delete(`/api/projects/${fx.projectId}/videos/${video.id}`);
    },
  },
  { name: 'create a session', needs: 'manager', ok: 201, run: (h, fx) => h.post(`/api/projects/${fx.projectId}/sessions`, { videoId: fx.videoId }) },
  {
    name: "change a session's status",
    needs: 'manager',
    bySession: true,
    ok: 200,
    run: async (h, fx) => h.patch(`/api/sessions/${await fresh.session(fx)}`, { status: 'review' }),
  },
  { name: 'delete a session', needs: 'manager', bySession: true, ok: 204, run: async (h, fx) => h.delete(`/api/sessions/${await fresh.session(fx)}`) },
  { name: 'create a project', needs: 'admin', ok: 201, run: (h) => h.post('/api/projects', { name: 'by someone' }) },
  {
    name: 'create a video',
    needs: 'admin',
    ok: 201,
    run: (h) => h.post('/api/videos', { name: 'v', uri: 's3://b/v.mp4', width: 64, height: 48, fps: 25, frameCount: 10 }),
  },
  {
    name: 'patch a video',
    needs: 'admin',
    ok: 200,
    run: async (h, fx) => h.patch(`/api/videos/${(await createVideo(fx.admin)).id}`, { name: 'renamed' }),
  },
];

for (const kind of databaseKinds()) {
  const test = suite<{ storage: TestStorage; app: TestServer; fx: Fixture; tokens: Record<RoleName, string> }>(`roles (${kind})`);

  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.app = await startTestServer(ctx.storage);
    const admin = jsonClient(ctx.app.url, ctx.app.adminToken);
    const { project, video, session } = await linkedSession(admin);
    const fx: Fixture = { admin, projectId: project.id, videoId: video.id, sessionId: session.id, annotationId: '', trackId: '' };
    fx.annotationId = await fresh.annotation(fx);
    fx.trackId = await fresh.track(fx);
    ctx.fx = fx;
    ctx.tokens = await roleTokens(ctx.app, project.id);
  });

  test.after(async (ctx) => {
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });

  for (const route of routes) {
    test(`${route.name}: ${route.needs} and above get ${route.ok}, ${route.bySession ? 'a stranger 404, ' : ''}the others 403`, async (ctx) => {
      for (const role of ROLE_NAMES) {
        const res = await route.run(jsonClient(ctx.app.url, ctx.tokens[role]), ctx.fx);
        const expected = RANK[role] >= RANK[route.needs] ? route.ok : role === 'stranger' && route.bySession ? 404 : 403;
        assert.is(res.status, expected, `${role}: ${res.status} ${res.text}`);
        if (expected === 403) assert.match(res.text, /"forbidden"/);
        if (expected === 404) assert.match(res.text, /"not_found"/);
      }
    });
  }

  test('listing projects shows only the projects the caller has a role on', async (ctx) => {
    for (const role of ROLE_NAMES) {
      const res = await jsonClient(ctx.app.url, ctx.tokens[role]).get<{ items: Array<{ id: string }> }>('/api/projects?limit=200');
      assert.is(res.status, 200);
      const sees = res.body.items.some((p) => p.id === ctx.fx.projectId);
      assert.is(sees, role !== 'stranger', role);
    }
  });

  test('the socket: no role closes with 4404, as for no such session; viewers sync read-only; annotators and above write', async (ctx) => {
    const docName = `session:${ctx.fx.sessionId}`;
    for (const role of ROLE_NAMES) {
      const s = openSocket(ctx.app.url, docName, { token: ctx.tokens[role] });
      if (role === 'stranger') {
        assert.is((await s.closed).code, 4404);
        assert.is(s.messages.length, 0);
        continue;
      }
      await s.opened;
      const { update, key } = updateOfSize(100);
      s.ws.send(syncMessage(2, update));
      assert.ok(await alive(s), `${role} stays connected`);
      const applied = await ctx.app.server.registry.read(
        { name: docName, kind: 'session', id: ctx.fx.sessionId },
        (ydoc) => ydoc.getMap('probe').has(key),
      );
      assert.is(applied, role !== 'viewer', `${role}'s update applied?`);
      assert.is(s.messages.some(isPermissionDenied), role === 'viewer', `${role} told permission denied?`);
      ctx.app.server.registry.get(docName)?.ydoc.getMap('probe').delete(key);
      s.ws.close();
      await s.closed;
    }
  });

  test('the socket: a session that does not exist or was deleted closes with 4404, for everyone', async (ctx) => {
    const deleted = await fresh.session(ctx.fx);
    assert.is((await ctx.fx.admin.delete(`/api/sessions/${deleted}`)).status, 204);
    const loadsBefore = ctx.app.server.registry.loads;
    for (const docName of ['session:never-created', `session:${deleted}`, 'test-run:nope', 'dashboard:no-such-project']) {
      for (const role of ['admin', 'manager'] as const) {
        const s = openSocket(ctx.app.url, docName, { token: ctx.tokens[role] });
        assert.is((await s.closed).code, 4404, `${role} on ${docName}`);
        assert.is(s.messages.length, 0);
      }
    }
    assert.is(ctx.app.server.registry.loads, loadsBefore, 'no document was loaded for a refused socket');
  });

  test('the socket: a dashboard opens for every role on its project and is read-only for all of them; a stranger gets 4404', async (ctx) => {
    const docName = `dashboard:${ctx.fx.projectId}`;
    for (const role of ROLE_NAMES) {
      const s = openSocket(ctx.app.url, docName, { token: ctx.tokens[role] });
      if (role === 'stranger') {
        assert.is((await s.closed).code, 4404);
        continue;
      }
      await s.opened;
      s.ws.send(syncMessage(2, updateOfSize(100).update));
      assert.ok(await alive(s));
      assert.ok(s.messages.some(isPermissionDenied), `${role} cannot write a dashboard`);
      s.ws.close();
      await s.closed;
    }
  });

  test.run();
}
