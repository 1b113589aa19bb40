/**
 * What a server on PGlite holds once it has started (bench/start.ts measures the RSS): the
 * WebAssembly files read to compile PGlite are freed without waiting for a garbage collection
 * (persistence/pglite-modules.ts, `freeNow` in persistence/worker-thread.ts), and Postgres's shared
 * memory is sized for its one backend (persistence/pglite-thread.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { freeNow } from '../../persistence/worker-thread.ts';
import { openPgliteConnection } from '../../persistence/pglite-connection.ts';
import { inFreshProcess } from '../helpers/fresh-process.ts';

const test = suite('PGlite memory at start');
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

test.run();
