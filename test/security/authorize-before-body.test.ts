/**
 * Authorisation comes before the body is read: a caller without the role gets 403 (or 401 with no
 * token; or 404 from a route addressed by session or test-run id when it has no role at all on the
 * project, as for a missing id) whatever the body, so a viewer cannot learn a route's schema from
 * its 422s, and nobody unauthorised can make the server receive and parse a body up to the route's limit.
 *
 * "Not read" is shown by sending the headers and only the first kilobyte of a body whose
 * Content-Length announces more: a server that waited for the body would never answer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { z } from 'zod';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { databaseKinds } from '../../tools/databases.ts';
import { jsonClient, linkedSession } from '../../tools/api.ts';
import { roleTokens, type RoleName } from '../helpers/security.ts';
import { DEFAULT_JSON_LIMIT } from '../../server/api/body.ts';
import { defineRoute } from '../../server/api/route.ts';
import { ANNOTATIONS_BODY_LIMIT } from '../../server/api/routes/annotations.ts';
import { IMPORT_LIMITS } from '../../server/api/routes/formats.ts';
import { DETECTIONS_BODY_LIMIT } from '../../server/api/test-run-schemas.ts';

interface Fixture {
  projectId: string;
  sessionId: string;
  testRunId: string;
}

interface BodyRoute {
  name: string;
  method: 'POST' | 'PATCH';
  path(fx: Fixture): string;
  /** A body that parses as JSON but that the route refuses (422) from a caller who may use it. */
  invalid: unknown;
  /** The route's body limit, bytes. */
  limit: number;
  /** What a caller with no role on the project gets: 404 where the path names a session or test run. */
  stranger: 403 | 404;
}

const routes: BodyRoute[] = [
  { name: 'project update', method: 'PATCH', path: (fx) => `/api/projects/${fx.projectId}`, invalid: { name: 42 }, limit: DEFAULT_JSON_LIMIT, stranger: 403 },
  { name: 'project create (admin only)', method: 'POST', path: () => '/api/projects', invalid: { name: '' }, limit: DEFAULT_JSON_LIMIT, stranger: 403 },
  {
    name: 'annotation create',
    method: 'POST',
    path: (fx) => `/api/sessions/${fx.sessionId}/annotations`,
    invalid: { frame: -1, bbox: 'wide', label: 'car' },
    limit: ANNOTATIONS_BODY_LIMIT,
    stranger: 404,
  },
  {
    name: 'bulk annotation create',
    method: 'POST',
    path: (fx) => `/api/sessions/${fx.sessionId}/annotations`,
    invalid: [{ frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { frame: 'x' }],
    limit: ANNOTATIONS_BODY_LIMIT,
    stranger: 404,
  },
  { name: 'track create', method: 'POST', path: (fx) => `/api/sessions/${fx.sessionId}/tracks`, invalid: { label: 7 }, limit: DEFAULT_JSON_LIMIT, stranger: 404 },
  { name: 'session update', method: 'PATCH', path: (fx) => `/api/sessions/${fx.sessionId}`, invalid: { status: 'finished?' }, limit: DEFAULT_JSON_LIMIT, stranger: 404 },
  {
    name: 'session import',
    method: 'POST',
    path: (fx) => `/api/sessions/${fx.sessionId}/import?format=coco`,
    invalid: { images: 'none', annotations: 3 },
    limit: IMPORT_LIMITS['application/json']!,
    stranger: 404,
  },
  {
    name: 'test-run create',
    method: 'POST',
    path: (fx) => `/api/projects/${fx.projectId}/test-runs`,
    invalid: { videoId: 5, model: {} },
    limit: DEFAULT_JSON_LIMIT,
    stranger: 403,
  },
  {
    name: 'test-run progress',
    method: 'POST',
    path: (fx) => `/api/test-runs/${fx.testRunId}/progress`,
    invalid: { processedFrames: 9, totalFrames: 3 },
    limit: DEFAULT_JSON_LIMIT,
    stranger: 404,
  },
  {
    name: 'test-run detections',
    method: 'POST',
    path: (fx) => `/api/test-runs/${fx.testRunId}/detections`,
    invalid: [],
    limit: DETECTIONS_BODY_LIMIT,
    stranger: 404,
  },
];

const FIRST_PART = Buffer.from(`[${' '.repeat(1022)}`);
/** Long enough for any test machine; only reached when the server waits for a body it should not. */
const ANSWER_WITHIN_MS = 10_000;

/**
 * Sends the headers announcing `declared` bytes and only the first kilobyte of the body, then
 * waits for the answer (the rest is never sent) and drops the connection.
 */
function partialRequest(url: string, method: string, path: string, declared: number, token?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, {
      method,
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': String(declared),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms: the server waits for the body (${declared} bytes announced)`));
    }, ANSWER_WITHIN_MS);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.write(FIRST_PART);
  });
}

const REFUSED: readonly RoleName[] = ['viewer', 'stranger'];

for (const kind of databaseKinds()) {
  const test = suite<{ storage: TestStorage; app: TestServer; fx: Fixture; tokens: Record<RoleName, string> }>(`authorisation before the body (${kind})`);

  test.before(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.app = await startTestServer(ctx.storage);
    const admin = jsonClient(ctx.app.url, ctx.app.adminToken);
    const { project, video, session } = await linkedSession(admin);
    const run = await admin.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, {
      videoId: video.id,
      sessionId: session.id,
      model: { name: 'yolo', version: '8n' },
    });
    if (run.status !== 201) throw new Error(`test run: ${run.status} ${run.text}`);
    ctx.fx = { projectId: project.id, sessionId: session.id, testRunId: run.body.id };
    ctx.tokens = await roleTokens(ctx.app, project.id);
  });

  test.after(async (ctx) => {
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });

  for (const route of routes) {
    test(`${route.name}: an invalid body gets 403 from a viewer, ${route.stranger} from a caller with no role, 422 from an admin`, async (ctx) => {
      const path = route.path(ctx.fx);
      for (const role of REFUSED) {
        const res = await jsonClient(ctx.app.url, ctx.tokens[role]).request(route.method, path, route.invalid);
        const expected = role === 'stranger' ? route.stranger : 403;
        assert.is(res.status, expected, `${role}: ${res.status} ${res.text}`);
        assert.match(res.text, expected === 403 ? /"forbidden"/ : /"not_found"/);
        assert.not.match(res.text, /"details"/, `${role} learns nothing of the schema`);
      }
      const allowed = await jsonClient(ctx.app.url, ctx.app.adminToken).request(route.method, path, route.invalid);
      assert.is(allowed.status, 422, `the body is invalid for a caller who may send it: ${allowed.text}`);
    });

    test(`${route.name}: a body announced past the limit (or within it) and barely sent is refused 403 / ${route.stranger} / 401 without waiting for it`, async (ctx) => {
      const path = route.path(ctx.fx);
      for (const declared of [route.limit + 1, 64 * 1024]) {
        for (const role of REFUSED) {
          const res = await partialRequest(ctx.app.url, route.method, path, declared, ctx.tokens[role]);
          assert.is(res.status, role === 'stranger' ? route.stranger : 403, `${role}, ${declared} bytes announced: ${res.status} ${res.text}`);
        }
        const anonymous = await partialRequest(ctx.app.url, route.method, path, declared);
        assert.is(anonymous.status, 401, `no token, ${declared} bytes announced: ${anonymous.text}`);
      }
    });
  }

  test('an allowed caller announcing a body past the limit still gets 413 at once', async (ctx) => {
    const res = await partialRequest(ctx.app.url, 'PATCH', `/api/projects/${ctx.fx.projectId}`, DEFAULT_JSON_LIMIT + 1, ctx.app.adminToken);
    assert.is(res.status, 413, res.text);
  });

  test.run();
}

{
  const test = suite('authorisation before the body: route definitions');

  test('a route that reads a JSON body cannot be defined without saying who may send it', () => {
    assert.throws(
      () =>
        defineRoute({
          method: 'post',
          path: '/api/things',
          tag: 'things',
          summary: 'Create a thing',
          body: z.object({ name: z.string() }),
          responses: { 201: { description: 'the thing' } },
          handle: () => ({ status: 201 }),
        }),
      /authorize/,
    );
  });

  test.run();
}
