/**
 * `annosync` against a real server behind a flaky proxy (real HTTP both ways): a transient failure
 * is tried again when the request cannot have been carried out (429, 503) whatever its method, and
 * also after a gateway's 502 or a dropped connection when repeating it changes nothing (GET); a POST
 * that met a 502 or a dropped connection is reported, not sent twice; the retries end (exit 2 naming
 * the last answer), and ANNOSYNC_RETRIES=0 turns them off. The client side of the policy, so one
 * database is enough.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestStorage, type TestStorage } from '../../tools/server.ts';
import { linkedSession, startApiServer, type ApiTestServer } from '../../tools/api.ts';
import { annosync, oneCleanLine } from './helpers.ts';

type Step = number | 'drop';

interface Proxy {
  url: string;
  /** What reached the proxy, as "METHOD /path". */
  seen: string[];
  /** Answers for the next requests, in order; once used up, requests pass through to the server. */
  plan: Step[];
  close(): Promise<void>;
}

async function flakyProxy(target: string): Promise<Proxy> {
  const seen: string[] = [];
  const plan: Step[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
    const step = plan.shift();
    if (step === 'drop') {
      req.socket.destroy();
      return;
    }
    if (step !== undefined) {
      req.resume();
      req.on('end', () => {
        res.writeHead(step, { 'content-type': 'application/json', ...(step === 429 || step === 503 ? { 'retry-after': '0' } : {}) });
        res.end(JSON.stringify({ error: { code: 'proxy', message: `the proxy answers ${step}` } }));
      });
      return;
    }
    const upstream = http.request(target + req.url, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    plan,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Ctx {
  storage: TestStorage;
  t: ApiTestServer;
  proxy: Proxy;
  dir: string;
  env: Record<string, string>;
  session: string;
}

const test = suite<Ctx>('annosync retries through a flaky proxy');

test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.t = await startApiServer(ctx.storage);
  ctx.proxy = await flakyProxy(ctx.t.url);
  ctx.dir = mkdtempSync(path.join(tmpdir(), 'annosync-cli-retries-'));
  ctx.env = { ANNOSYNC_URL: ctx.proxy.url, ANNOSYNC_TOKEN: ctx.t.adminToken };
  const { session } = await linkedSession(ctx.t.http);
  ctx.session = session.id;
  const res = await ctx.t.http.post(`/api/sessions/${session.id}/annotations`, [{ frame: 0, bbox: [10, 10, 50, 50], label: 'car' }]);
  assert.is(res.status, 201, res.text);
});
test.before.each(({ proxy }) => {
  proxy.seen.length = 0;
  proxy.plan.length = 0;
});
test.after(async (ctx) => {
  await ctx.proxy.close();
  await ctx.t.stop();
  await ctx.storage.cleanup();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const releaseNames = async (t: ApiTestServer, session: string): Promise<string[]> =>
  (await t.http.get<{ items: Array<{ name: string }> }>(`/api/sessions/${session}/releases`)).body.items.map((r) => r.name);

test('a GET is tried again after a 502, a dropped connection and a 503, and exports what the server has', async ({ t, proxy, dir, env, session }) => {
  const direct = await fetch(`${t.url}/api/sessions/${session}/export?format=coco`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  const expected = Buffer.from(await direct.arrayBuffer());
  proxy.plan.push(502, 'drop', 503);
  const file = path.join(dir, 'export.json');
  const r = await annosync(['export', '--session', session, '--format', 'coco', '-o', file], env);
  assert.is(r.code, 0, r.stderr);
  assert.ok(readFileSync(file).equals(expected));
  assert.equal(proxy.seen, Array(4).fill(`GET /api/sessions/${session}/export`));
});

test('a POST is tried again after 429 and 503 (not carried out) and made once', async ({ t, proxy, env, session }) => {
  proxy.plan.push(429, 503);
  const r = await annosync(['release', '--session', session, '--name', 'after-429'], env);
  assert.is(r.code, 0, r.stderr);
  assert.equal(proxy.seen, Array(3).fill(`POST /api/sessions/${session}/releases`));
  assert.equal((await releaseNames(t, session)).filter((n) => n === 'after-429'), ['after-429']);
});

test('a POST that met a 502 or a dropped connection is reported, not sent again', async ({ t, proxy, env, session }) => {
  for (const step of [502, 'drop'] as const) {
    proxy.seen.length = 0;
    proxy.plan.push(step);
    const r = await annosync(['release', '--session', session, '--name', `after-${step}`], env);
    assert.is(r.code, 2, `${step}: ${r.stderr}`);
    assert.ok(oneCleanLine(r.stderr) && (step === 502 ? r.stderr.includes('502') : r.stderr.includes(`cannot reach ${proxy.url}`)), r.stderr);
    assert.is(proxy.seen.length, 1, `${step}: sent once`);
    assert.not.ok((await releaseNames(t, session)).includes(`after-${step}`));
  }
});

test('the retries end: four 503s are exit 2 naming the answer; ANNOSYNC_RETRIES=0 tries once; a bad value is a usage error', async ({ proxy, dir, env, session }) => {
  const file = path.join(dir, 'never.json');
  proxy.plan.push(503, 503, 503, 503, 503);
  const r = await annosync(['export', '--session', session, '--format', 'coco', '-o', file], env);
  assert.is(r.code, 2);
  assert.ok(oneCleanLine(r.stderr) && r.stderr.includes('503') && r.stderr.includes('the proxy answers 503'), r.stderr);
  assert.is(proxy.seen.length, 4, 'the first try and 3 more');

  proxy.seen.length = 0;
  proxy.plan.length = 0;
  proxy.plan.push(503);
  const once = await annosync(['export', '--session', session, '--format', 'coco', '-o', file], { ...env, ANNOSYNC_RETRIES: '0' });
  assert.is(once.code, 2);
  assert.is(proxy.seen.length, 1);

  for (const value of ['many', '11', '-1']) {
    const bad = await annosync(['export', '--session', session, '--format', 'coco', '-o', file], { ...env, ANNOSYNC_RETRIES: value });
    assert.is(bad.code, 2, value);
    assert.ok(oneCleanLine(bad.stderr) && bad.stderr.includes(`ANNOSYNC_RETRIES must be a whole number from 0 to 10, got '${value}'`), bad.stderr);
  }
  // The bound itself is taken: ten retries allowed, and none needed here.
  proxy.seen.length = 0;
  const most = await annosync(['export', '--session', session, '--format', 'coco', '-o', file], { ...env, ANNOSYNC_RETRIES: '10' });
  assert.is(most.code, 0, most.stderr);
  assert.is(proxy.seen.length, 1);
});

test.run();
