/**
 * `npm start` runs the compiled build (scripts/build.ts → dist/server/main.js) on plain node: built
 * here into a directory of its own, it opens its database through the migrations, runs PGlite in
 * its worker thread, serves /docs from node_modules, keeps edits across a SIGTERM restart and
 * loads them back (through the merge worker) — on each database under test.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildServer, serverEntries } from '../../scripts/build.ts';
import { newSessionDoc } from '../../tools/api.ts';
import { addAnnotation, listAnnotations, setLabel } from '../../docs-model/index.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { createTestStorage, startChildServer, testTokens, type ChildServer, type TestStorage } from '../../tools/server.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';

const adminToken = testTokens.sign({ sub: 'test-admin', admin: true });
const root = path.resolve(import.meta.dirname, '../..');
// Inside the project, so the bundle resolves its packages from node_modules as dist/ does.
mkdirSync(path.join(root, '.tmp'), { recursive: true });
const outdir = mkdtempSync(path.join(root, '.tmp', 'build-'));
let built: Promise<void> | null = null;

for (const kind of databaseKinds()) {
  const test = suite<{ storage: TestStorage; children: ChildServer[]; clients: TestClient[] }>(`compiled build (${kind})`);

  test.before(async () => {
    await (built ??= buildServer(path.join(outdir, 'server')));
  });

  test.before.each(async (ctx) => {
    ctx.storage = await createTestStorage(kind);
    ctx.children = [];
    ctx.clients = [];
  });

  test.after.each(async (ctx) => {
    for (const client of ctx.clients) client.destroy();
    for (const child of ctx.children) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      await child.exited;
    }
    await ctx.storage.cleanup();
  });

  test('the bundle starts on plain node, serves the API, scores a run in its thread and keeps edits across a restart', async (ctx) => {
    const entry = path.join(outdir, 'server', 'main.js');
    for (const file of Object.keys(serverEntries).map((name) => `${name}.js`)) {
      assert.ok(existsSync(path.join(outdir, 'server', file)), `${file} is built`);
      // V8 keeps a source of Latin-1 characters at one byte each, any other at two (scripts/build.ts).
      const nonAscii = /[^\x00-\x7f]/.exec(readFileSync(path.join(outdir, 'server', file), 'utf8'));
      assert.is(nonAscii, null, `${file} is ASCII`);
    }
    const start = async () => {
      const child = await startChildServer(ctx.storage.env, { entry });
      ctx.children.push(child);
      await waitFor(() => /database: /.test(child.output()));
      assert.match(child.output(), kind === 'pglite' ? /database: embedded PGlite/ : /database: postgres \(DATABASE_URL\)/);
      return child;
    };
    const first = await start();
    const health = (await (await fetch(`${first.url}/health`)).json()) as { database: { kind: string; reachable: boolean } };
    assert.equal(health.database, { kind, reachable: true });
    assert.is((await fetch(`${first.url}/docs/swagger-ui.css`)).status, 200, 'swagger-ui assets from node_modules');

    const { docName: name, sessionId, projectId } = await newSessionDoc(first.url, await adminToken);
    const writer = connectClient(first.url, name, { params: { token: await adminToken } });
    ctx.clients.push(writer);
    await synced(writer.provider);
    setLabel(writer.doc, 'car', {});
    for (let i = 0; i < 10; i++) addAnnotation(writer.doc, { frame: i, bbox: [0, 0, 4, 4], label: 'car' }, { by: 'alice' });
    const stored = async (url: string) => {
      const res = await fetch(`${url}/api/sessions/${sessionId}/annotations`, { headers: { authorization: `Bearer ${await adminToken}` } });
      return ((await res.json()) as { items: unknown[] }).items.length;
    };
    await waitFor(async () => (await stored(first.url)) === 10, { message: 'the server has every edit' });
    // A run's evaluation is computed in ground-truth-thread.js.
    const api = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
      const res = await fetch(url, { method, headers: { authorization: `Bearer ${await adminToken}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      assert.ok(res.ok, `${method} ${url}: ${res.status}`);
      return (await res.json()) as T;
    };
    const session = await api<{ videoId: string }>('GET', `${first.url}/api/sessions/${sessionId}`);
    const run = await api<{ id: string }>('POST', `${first.url}/api/projects/${projectId}/test-runs`, { videoId: session.videoId, sessionId, model: { name: 'm', version: '1' } });
    await api('POST', `${first.url}/api/test-runs/${run.id}/detections`, [{ frame: 0, bbox: [0, 0, 4, 4], label: 'car', score: 0.9 }, { frame: 1, bbox: [50, 50, 4, 4], label: 'car', score: 0.8 }]);
    const evaluation = await api<{ overall: { tp: number; fp: number; fn: number } }>('GET', `${first.url}/api/test-runs/${run.id}/evaluation`);
    assert.equal([evaluation.overall.tp, evaluation.overall.fp, evaluation.overall.fn], [1, 1, 9]);
    writer.destroy();
    ctx.clients = [];
    first.process.kill('SIGTERM');
    const exit = await first.exited;
    assert.is(exit.code, 0, first.output());

    const second = await start();
    const reader = connectClient(second.url, name, { params: { token: await adminToken } });
    ctx.clients.push(reader);
    await synced(reader.provider);
    assert.is(listAnnotations(reader.doc).length, 10);
  });

  test('the bundle listens with its young generation at its first size, not grown by loading the server', async (ctx) => {
    // server/startup-heap.ts: grown, it is 32 MiB here until V8's memory reducer shrinks it, ~8 s on.
    const child = await startChildServer(ctx.storage.env, { entry: path.join(outdir, 'server', 'main.js') });
    ctx.children.push(child);
    const metrics = await (await fetch(`${child.url}/metrics`)).text();
    const match = /^annosync_process_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics);
    assert.ok(match, 'the new space is in /metrics');
    assert.ok(Number(match[1]) <= 8 * 2 ** 20, `new space ${Number(match[1]) / 2 ** 20} MiB`);
  });

  test.run();
}

process.on('exit', () => rmSync(outdir, { recursive: true, force: true }));
