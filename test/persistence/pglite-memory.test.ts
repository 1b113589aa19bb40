/**
 * What a server on PGlite holds once it has started (bench/start.ts measures the RSS): the
 * WebAssembly files read to compile PGlite are freed without waiting for a garbage collection
 * (persistence/pglite-modules.ts, `freeNow` in persistence/worker-thread.ts), and Postgres's shared
 * memory is sized for its one backend (persistence/pglite-thread.ts). And what it holds after
 * large writes: PGlite's memory keeps the peak of its largest statement, so batch writers keep
 * their statements small there (persistence/statement-size.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { freeNow } from '../../persistence/worker-thread.ts';
import { openPgliteConnection } from '../../persistence/pglite-connection.ts';
import { inFreshProcess } from '../helpers/fresh-process.ts';

const test = suite('PGlite memory');
const MiB = 2 ** 20;

test('freeNow releases a buffer at once, without a garbage collection', async () => {
  const bytes = new Uint8Array(16 * MiB).fill(7);
  const before = process.memoryUsage().arrayBuffers;
  await freeNow(bytes);
  const after = process.memoryUsage().arrayBuffers;
  assert.is(bytes.byteLength, 0, 'the buffer is detached from its view');
  // `bytes` is still reachable here: only freeNow can have released its memory.
  assert.ok(before - after >= 16 * MiB, `array buffers went from ${before} to ${after} bytes`);
});

test('freeNow leaves a Buffer that shares its pool with others untouched', async () => {
  const small = Buffer.from('pooled');
  const neighbour = Buffer.from('neighbour');
  assert.ok(small.buffer === neighbour.buffer, 'both lie in Node’s shared pool');
  await freeNow(small);
  assert.is(small.toString(), 'pooled');
  assert.is(neighbour.toString(), 'neighbour');
});

test('an open PGlite connection keeps no copy of the WebAssembly files it was compiled from', async () => {
  // A fresh process: this one may hold other tests' buffers until its next collection.
  const connection = fileURLToPath(new URL('../../persistence/pglite-connection.ts', import.meta.url));
  const script = `
    const { openPgliteConnection } = await import(${JSON.stringify(connection)});
    const before = process.memoryUsage().arrayBuffers;
    const conn = await openPgliteConnection({ dataDir: null });
    process.stdout.write(JSON.stringify({ before, after: process.memoryUsage().arrayBuffers }));
    await conn.close();`;
  const stdout = await inFreshProcess(script);
  const { before, after } = JSON.parse(stdout) as { before: number; after: number };
  // pglite.wasm alone is 9 MB; what is left is the process's own small buffers.
  assert.ok(after - before < 2 * MiB, `array buffers grew from ${before} to ${after} bytes`);
});

test('Postgres’s shared memory is sized for one backend: 8 MB, of which the 4 MB of buffers', async () => {
  const conn = await openPgliteConnection({ dataDir: null });
  try {
    const { rows } = await conn.query('select sum(allocated_size)::float8 as bytes from pg_shmem_allocations');
    const { bytes } = rows[0] as { bytes: number };
    // 12 MB when sized for max_connections=100 and 10 WAL senders and replication slots.
    assert.ok(bytes < 9 * MiB, `${(bytes / MiB).toFixed(1)} MiB of shared memory`);
    const settings = await conn.query("select current_setting('max_connections') as c, current_setting('shared_buffers') as b");
    assert.equal(settings.rows[0], { c: '1', b: '4MB' });
  } finally {
    await conn.close();
  }
});

test('10 000 history entries, 10 000 projected annotations, 20 000 detections written and listed: PGlite’s memory within 4 MiB of where it was', async () => {
  // A fresh process, so that the only WebAssembly memory in it is this database's.
  const url = (file: string) => JSON.stringify(fileURLToPath(new URL(file, import.meta.url)));
  const script = `
    const { openTestDatabase } = await import(${url('../../tools/databases.ts')});
    const { createHistoryRepository } = await import(${url('../../persistence/repositories/annotation-history.ts')});
    const { createAnnotationRepository } = await import(${url('../../persistence/repositories/annotations.ts')});
    const { createDetectionRepository } = await import(${url('../../persistence/repositories/detections.ts')});
    const { createProjectRepository } = await import(${url('../../persistence/repositories/projects.ts')});
    const { createVideoRepository } = await import(${url('../../persistence/repositories/videos.ts')});
    const { createSessionRepository } = await import(${url('../../persistence/repositories/sessions.ts')});
    const { createTestRunRepository } = await import(${url('../../persistence/repositories/test-runs.ts')});
    const { wasmResident } = await import(${url('../../tools/wasm-resident.ts')});
    const t = await openTestDatabase('pglite');
    const { knex } = t.db;
    await createProjectRepository({ knex }).create({ id: 'p', name: 'P' });
    await createVideoRepository({ knex }).create({ id: 'v', name: 'v', uri: 's3://v', width: 1920, height: 1080, fps: 25, frameCount: 3000, durationSec: 120 });
    await createSessionRepository({ knex }).create({ id: 's', projectId: 'p', videoId: 'v', name: 's', docName: 'session:s', createdBy: 'alice' });
    await createTestRunRepository({ knex }).create({ id: 'run', projectId: 'p', videoId: 'v', sessionId: 's', model: { name: 'm', version: '1' }, createdBy: 'alice' });
    const before = wasmResident();
    const at = new Date();
    await createHistoryRepository({ knex }).append(Array.from({ length: 10000 }, (_, i) => ({
      sessionId: 's', annotationId: 'annotation-' + i, at, by: 'alice', origin: 'rest', kind: 'created',
      fields: { frame: { to: i % 3000 }, bbox: { to: [i % 1700, i % 900, 40.5, 80.25] }, label: { to: 'pedestrian' }, status: { to: 'unreviewed' }, detectionId: { to: 'd-' + i } },
    })));
    await createAnnotationRepository({ knex }).apply('s', { remove: [], upsert: Array.from({ length: 10000 }, (_, i) => ({
      sessionId: 's', annotationId: 'annotation-' + i, frame: i % 3000, label: 'pedestrian', x: i % 1700, y: i % 900, w: 40.5, h: 80.25,
      trackId: null, detectionId: 'd-' + i, status: 'unreviewed', updatedAt: Date.now(),
    })) });
    const detections = createDetectionRepository({ knex });
    await detections.append('run', Array.from({ length: 20000 }, (_, i) => ({
      frame: i % 3000, bbox: [i % 1700, i % 900, 40.5, 80.25], label: 'pedestrian', score: (i % 100) / 100, detectionId: 'det-' + i,
    })));
    const listed = (await detections.list('run')).length;
    const rows = await knex.raw("select (select count(*) from annotation_history)::int as h, (select count(*) from annotations)::int as a, (select count(*) from detections)::int as d");
    process.stdout.write(JSON.stringify({ before, after: wasmResident(), counts: { ...rows.rows[0], listed } }));
    await t.cleanup();`;
  const { before, after, counts } = JSON.parse(await inFreshProcess(script)) as { before: number; after: number; counts: unknown };
  assert.equal(counts, { h: 10_000, a: 10_000, d: 20_000, listed: 20_000 });
  assert.ok(before > 4 * MiB, `PGlite's memory found: ${(before / MiB).toFixed(1)} MiB resident`);
  // In one statement each, these writes grew it by ~25 MiB (the detections' alone), and the
  // detections listed in one statement by ~10.
  assert.ok(after - before < 4 * MiB, `PGlite's memory grew from ${(before / MiB).toFixed(1)} to ${(after / MiB).toFixed(1)} MiB`);
});

test.run();
