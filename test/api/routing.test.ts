/**
 * How a request finds its route (server/http/route-table.ts), over real HTTP: a trailing slash
 * does not matter, case does, escapes in a path parameter are decoded, a static segment wins over a
 * parameter, HEAD answers for GET, and a path that exists for other methods says which (405 or,
 * for OPTIONS, 200 with `Allow`); a method no route uses is 501.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../../tools/databases.ts';
import { createProject, linkedSession, type ErrorResponse, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

const kind = databaseKinds()[0]!;
const test = suite<ApiSuiteContext>(`routing (${kind})`);
withApiServer(test, kind);

test('a path matches with or without a trailing slash, and only in its own case', async ({ t }) => {
  const project = await createProject(t.http, { name: 'routing' });
  for (const path of [`/api/projects/${project.id}`, `/api/projects/${project.id}/`]) {
    const res = await t.http.get<{ id: string }>(path);
    assert.is(res.status, 200, `${path}: ${res.text}`);
    assert.is(res.body.id, project.id, path);
  }
  const upper = await t.http.get<ErrorResponse>(`/API/Projects/${project.id}`);
  assert.is(upper.status, 404, upper.text);
  assert.is(upper.body.error.code, 'not_found');
  const health = await t.http.get('/HEALTH');
  assert.is(health.status, 404);
});

test('escapes in a path parameter are decoded before the route sees it', async ({ t }) => {
  const project = await createProject(t.http, { name: 'escapes' });
  const escaped = project.id.replace(/[A-Za-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`);
  assert.is.not(escaped, project.id);
  const res = await t.http.get<{ id: string }>(`/api/projects/${escaped}`);
  assert.is(res.status, 200, res.text);
  assert.is(res.body.id, project.id);
});

test('a long parameter reaches its route, which names it in its 404', async ({ t }) => {
  const { session } = await linkedSession(t.http);
  const id = 'x'.repeat(200);
  const res = await t.http.get<ErrorResponse>(`/api/sessions/${session.id}/annotations/${id}`);
  assert.is(res.status, 404);
  assert.match(res.body.error.message, `no annotation '${id}'`);
});

test('a static segment wins over a parameter in the same place', async ({ t }) => {
  const res = await t.http.get<ErrorResponse>('/api/test-runs/compare?base=a&head=b');
  assert.is.not(res.status, 200);
  assert.ok(!/no test run 'compare'|no run 'compare'/.test(res.text), `answered by the run route: ${res.text}`);
  const unknown = await t.http.get<ErrorResponse>('/api/test-runs/nosuchrun');
  assert.is(unknown.status, 404);
});

test('HEAD answers for a GET route, without a body', async ({ t }) => {
  const project = await createProject(t.http, { name: 'head' });
  const res = await t.http.request('HEAD', `/api/projects/${project.id}`);
  assert.is(res.status, 200);
  assert.is(res.text, '');
});

test('another method on an existing path is 405 with Allow; OPTIONS is 200 with Allow', async ({ t }) => {
  const res = await t.http.request('PUT', '/api/projects');
  assert.is(res.status, 405, res.text);
  assert.is(res.headers.get('allow'), 'HEAD, GET, POST');
  const options = await t.http.request('OPTIONS', '/api/projects');
  assert.is(options.status, 200, options.text);
  assert.is(options.headers.get('allow'), 'HEAD, GET, POST');
  const health = await t.http.request('POST', '/health');
  assert.is(health.status, 405);
  assert.is(health.headers.get('allow'), 'HEAD, GET');
});

test('an unknown path is a JSON 404; a method no route uses is 501', async ({ t }) => {
  const res = await t.http.get<ErrorResponse>('/api/no-such-thing');
  assert.is(res.status, 404);
  assert.is(res.body.error.code, 'not_found');
  const odd = await t.http.request('PROPFIND', '/api/projects');
  assert.is(odd.status, 501);
});

test.run();
