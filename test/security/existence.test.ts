/**
 * A caller with no role on a project cannot tell its sessions and test runs exist: as GitHub does
 * for private repositories, it gets exactly what a missing id gets (the same 404 with the same code
 * and message, the same 4404 and reason on the socket), because ids may be chosen by callers and
 * guessed. A caller with some role below the one needed still gets 403: it may know they exist.
 *
 * "Exactly" is checked on the whole answer: status, headers (but Date; the request id is sent) and
 * body, with the id replaced, for an existing and a missing id of the same format.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { databaseKinds } from '../../tools/databases.ts';
import { jsonClient, linkedSession, type SessionBody } from '../../tools/api.ts';
import { connectClient, nextClose, synced } from '../../tools/clients.ts';
import { roleTokens, type RoleName } from '../helpers/security.ts';

interface Fixture {
  projectId: string;
  sessionId: string;
  /** A session whose id its creator chose, as a script would: the guessable kind. */
  chosenSessionId: string;
  testRunId: string;
}

interface Probe {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path(id: string): string;
  body?: unknown;
}

/** Every kind of request addressed by a session id, with bodies a member could send. */
const sessionProbes: Probe[] = [
  { name: 'read', method: 'GET', path: (id) => `/api/sessions/${id}` },
  { name: 'rename', method: 'PATCH', path: (id) => `/api/sessions/${id}`, body: { name: 'mine now' } },
  { name: 'delete', method: 'DELETE', path: (id) => `/api/sessions/${id}` },
  { name: 'list annotations', method: 'GET', path: (id) => `/api/sessions/${id}/annotations` },
  { name: 'add an annotation', method: 'POST', path: (id) => `/api/sessions/${id}/annotations`, body: { frame: 1, bbox: [1, 1, 5, 5], label: 'car' } },
  { name: 'read an annotation', method: 'GET', path: (id) => `/api/sessions/${id}/annotations/a1` },
  { name: 'list tracks', method: 'GET', path: (id) => `/api/sessions/${id}/tracks` },
  { name: 'participants', method: 'GET', path: (id) => `/api/sessions/${id}/participants` },
  { name: 'export', method: 'GET', path: (id) => `/api/sessions/${id}/export?format=coco` },
  { name: 'import', method: 'POST', path: (id) => `/api/sessions/${id}/import?format=json`, body: { annotations: [] } },
];

const testRunProbes: Probe[] = [
  { name: 'read', method: 'GET', path: (id) => `/api/test-runs/${id}` },
  { name: 'progress', method: 'POST', path: (id) => `/api/test-runs/${id}/progress`, body: { processedFrames: 1, totalFrames: 10 } },
  { name: 'detections', method: 'POST', path: (id) => `/api/test-runs/${id}/detections`, body: [] },
  { name: 'cancel', method: 'POST', path: (id) => `/api/test-runs/${id}/cancel` },
  { name: 'evaluation', method: 'GET', path: (id) => `/api/test-runs/${id}/evaluation` },
  { name: 'events', method: 'GET', path: (id) => `/api/test-runs/${id}/events` },
];

/** The whole answer, with `id` replaced and the headers that differ per request left out. */
async function answer(app: TestServer, token: string, probe: Probe, id: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const res = await jsonClient(app.url, token).request(probe.method, probe.path(id), probe.body, { headers: { 'x-request-id': 'same-request' } });
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name !== 'date') headers[name] = value.replaceAll(id, '<id>');
  });
  return { status: res.status, headers, body: res.text.replaceAll(id, '<id>') };
}

/** How the stock y-websocket client's socket to `docName` is closed, with `id` replaced in the reason. */
async function refusal(app: TestServer, docName: string, token: string, id: string): Promise<{ code: number; reason: string }> {
  const client = connectClient(app.url, docName, { params: { token }, connect: false });
  try {
    const closing = nextClose(client.provider);
    client.provider.connect();
    const { code, reason } = await closing;
    return { code, reason: reason.replaceAll(id, '<id>') };
  } finally {
    client.destroy();
  }
}

/** An id of the same format as `id` that names nothing. */
const missingLike = (id: string): string => (/^[0-9a-f-]{36}$/.test(id) ? randomUUID() : `${id.slice(0, -1)}${id.endsWith('x') ? 'y' : 'x'}`);

for (const kind of databaseKinds()) {
  const test = suite<{ storage: TestStorage; app: TestServer; fx: Fixture; tokens: Record<RoleName, string> }>(`existence (${kind})`);

  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.app = await startTestServer(ctx.storage);
    const admin = jsonClient(ctx.app.url, ctx.app.adminToken);
    const { project, video, session } = await linkedSession(admin);
    const chosen = await admin.post<SessionBody>(`/api/projects/${project.id}/sessions`, { videoId: video.id, id: 'q3-review-board' });
    if (chosen.status !== 201) throw new Error(`session: ${chosen.status} ${chosen.text}`);
    const run = await admin.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, { videoId: video.id, sessionId: session.id, model: { name: 'yolo' } });
    if (run.status !== 201) throw new Error(`test run: ${run.status} ${run.text}`);
    ctx.fx = { projectId: project.id, sessionId: session.id, chosenSessionId: chosen.body.id, testRunId: run.body.id };
    ctx.tokens = await roleTokens(ctx.app, project.id);
  });

  test.after(async (ctx) => {
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });

  const sameAsMissing = async (app: TestServer, tokens: Record<RoleName, string>, probe: Probe, id: string, what: string) => {
    const missing = missingLike(id);
    const stranger = await answer(app, tokens.stranger, probe, id);
    assert.is(stranger.status, 404, `${what} ${probe.name}: ${stranger.status} ${stranger.body}`);
    assert.match(stranger.body, /"not_found"/);
    assert.equal(stranger, await answer(app, tokens.stranger, probe, missing), `${what} ${probe.name}: a stranger's answer for an existing id and for a missing one`);
    assert.equal(stranger, await answer(app, app.adminToken, probe, missing), `${what} ${probe.name}: the same answer the admin gets for a missing id`);
  };

  test('a stranger gets for an existing session exactly what anyone gets for a missing one, on every session route', async (ctx) => {
    for (const id of [ctx.fx.sessionId, ctx.fx.chosenSessionId]) {
      for (const probe of sessionProbes) await sameAsMissing(ctx.app, ctx.tokens, probe, id, `session ${id}`);
    }
    for (const id of [ctx.fx.sessionId, ctx.fx.chosenSessionId]) {
      const session = await jsonClient(ctx.app.url, ctx.app.adminToken).get<SessionBody>(`/api/sessions/${id}`);
      assert.is(session.status, 200, 'the stranger deleted nothing');
      assert.is.not(session.body.name, 'mine now', 'the stranger renamed nothing');
    }
  });

  test('a stranger gets for an existing test run exactly what anyone gets for a missing one, on every test-run route', async (ctx) => {
    for (const probe of testRunProbes) await sameAsMissing(ctx.app, ctx.tokens, probe, ctx.fx.testRunId, 'test run');
    const run = await jsonClient(ctx.app.url, ctx.app.adminToken).get<{ status: string }>(`/api/test-runs/${ctx.fx.testRunId}`);
    assert.is(run.body.status, 'queued', 'the stranger reported and cancelled nothing');
  });

  test('a viewer asking for more than its role still gets 403: it may know the session and the run exist', async (ctx) => {
    const viewer = jsonClient(ctx.app.url, ctx.tokens.viewer);
    const attempts = [
      viewer.patch(`/api/sessions/${ctx.fx.sessionId}`, { status: 'review' }),
      viewer.delete(`/api/sessions/${ctx.fx.sessionId}`),
      viewer.post(`/api/sessions/${ctx.fx.sessionId}/annotations`, { frame: 1, bbox: [1, 1, 5, 5], label: 'car' }),
      viewer.request('POST', `/api/sessions/${ctx.fx.sessionId}/import?format=json`, { annotations: [] }),
      viewer.post(`/api/test-runs/${ctx.fx.testRunId}/progress`, { processedFrames: 1, totalFrames: 10 }),
      viewer.post(`/api/test-runs/${ctx.fx.testRunId}/cancel`),
    ];
    for (const res of await Promise.all(attempts)) {
      assert.is(res.status, 403, res.text);
      assert.match(res.text, /"forbidden"/);
    }
    assert.is((await viewer.get(`/api/sessions/${ctx.fx.sessionId}`)).status, 200);
    assert.is((await viewer.get(`/api/test-runs/${ctx.fx.testRunId}`)).status, 200);
  });

  test('the socket: a stranger is closed with 4404 and the same reason as for a missing session, test run or dashboard', async (ctx) => {
    const docs: Array<[kind: string, id: string]> = [
      ['session', ctx.fx.sessionId],
      ['session', ctx.fx.chosenSessionId],
      ['test-run', ctx.fx.testRunId],
      ['dashboard', ctx.fx.projectId],
    ];
    for (const [docKind, id] of docs) {
      const missing = missingLike(id);
      const stranger = await refusal(ctx.app, `${docKind}:${id}`, ctx.tokens.stranger, id);
      assert.is(stranger.code, 4404, `${docKind}:${id}: ${stranger.code} ${stranger.reason}`);
      assert.equal(stranger, await refusal(ctx.app, `${docKind}:${missing}`, ctx.tokens.stranger, missing), `${docKind}: existing and missing`);
      assert.equal(stranger, await refusal(ctx.app, `${docKind}:${missing}`, ctx.app.adminToken, missing), `${docKind}: as the admin for a missing one`);
    }
  });

  test('the socket: a viewer opens the same documents (read-only), so 4404 is for strangers only', async (ctx) => {
    for (const docName of [`session:${ctx.fx.sessionId}`, `test-run:${ctx.fx.testRunId}`, `dashboard:${ctx.fx.projectId}`]) {
      const client = connectClient(ctx.app.url, docName, { params: { token: ctx.tokens.viewer } });
      try {
        await synced(client.provider);
      } finally {
        client.destroy();
      }
    }
  });

  test.run();
}
