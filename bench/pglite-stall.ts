/**
 * How long PGlite holds the calling thread's event loop: a 20 000-row insert of 400-byte payloads
 * (base64 in, as the update log sends them) and reading them back, with a 1 ms interval timer
 * recording the longest gap between its ticks. With PGlite in its worker thread the loop keeps
 * ticking; run on the calling thread it stalled for the whole query (0.6-1.3 s).
 *
 *   npx tsx bench/pglite-stall.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../persistence/database.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'annosync-stall-'));
const db = await openDatabase({ dataDir: dir });
await db.knex.raw('create table bench_t (id serial primary key, data bytea)');
const payload = Buffer.alloc(400, 7).toString('base64');
for (let round = 0; round < 3; round++) {
  let last = performance.now();
  let maxGap = 0;
  const gaps: number[] = [];
  const timer = setInterval(() => {
    const now = performance.now();
    const gap = now - last;
    last = now;
    gaps.push(gap);
    maxGap = Math.max(maxGap, gap);
  }, 1);
  const t0 = performance.now();
  await db.knex.raw(`insert into bench_t (data) select decode(d, 'base64') from unnest(?::text[]) as d`, [
    Array.from({ length: 20000 }, () => payload),
  ]);
  const rows = await db.knex.raw(`select id, encode(data, 'base64') as data from bench_t order by id desc limit 20000`);
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(timer);
  gaps.sort((a, b) => a - b);
  const p99 = gaps[Math.floor(gaps.length * 0.99)] ?? 0;
  console.log(
    `round ${round}: ${ms.toFixed(0)} ms for insert+select (${rows.rows.length} rows); ` +
      `longest event-loop stall ${maxGap.toFixed(0)} ms, p99 gap ${p99.toFixed(0)} ms, ${gaps.length} ticks`,
  );
}
await db.close();
rmSync(dir, { recursive: true, force: true });
