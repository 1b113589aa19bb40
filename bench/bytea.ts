/**
 * How a document's stored bytes cross between the database and the event loop (persistence/bytea.ts):
 * a compacted 10 000-annotation snapshot read and written both ways, alternating, on PGlite and (with
 * DATABASE_URL) on Postgres.
 *
 *   base64  `encode(state, 'base64')` out, decoded by Buffer; `decode(?, 'base64')` in
 *   raw     the bytea column itself out (as hex text); the Uint8Array as a binary parameter in
 *   binary  PGlite: the bytea column with binary result columns; Postgres: the select as a binary
 *           COPY (persistence/copy-out.ts). What the doc store reads on each.
 *   log row the snapshot's bytes as one update-log row: base64 through unnest (a small batch's
 *           way), as a binary parameter (a large one-row batch on PGlite), or a binary COPY (a large
 *           batch on Postgres, persistence/copy-in.ts)
 *
 * For each it prints the wall time and the time the event loop was busy (performance's event-loop
 * utilisation), medians over the rounds. The event loop's share is what the sockets wait for.
 *
 *   npm run bench:bytea                 # PGlite, and Postgres when DATABASE_URL is set
 *   npm run bench:bytea -- --rounds 40
 */
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';
import { openTestDatabase, databaseKinds, type DatabaseKind } from '../tools/databases.ts';
import { bytesOf, bytesParameter, selectStored, toBase64 } from '../persistence/bytea.ts';
import { copyIn } from '../persistence/copy-in.ts';
import { addAnnotations } from './lib/session-fixture.ts';
import { median } from './lib/stats.ts';

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 20;
const WARMUP = 3;

const doc = new Y.Doc();
addAnnotations(doc, { count: 10_000, seed: 7, prefix: 'a' });
const state = Y.encodeStateAsUpdate(doc);

type Variant = (knex: import('knex').Knex) => Promise<Uint8Array | null>;
const variants: Record<string, Variant> = {
  'read, base64': async (knex) => Buffer.from((await knex.raw(`select encode(state, 'base64') as s from yjs_snapshots`)).rows[0].s, 'base64'),
  'read, raw': async (knex) => bytesOf((await knex.raw(`select state as s from yjs_snapshots`)).rows[0].s),
  'read, binary': async (knex) => (await selectStored<{ s: Uint8Array }>(knex, `select state as s from yjs_snapshots`, [], { s: 'bytes' }))[0]!.s,
  'write, base64': async (knex) => {
    await knex.raw(`update yjs_snapshots set state = decode(?, 'base64')`, [toBase64(state)]);
    return null;
  },
  // One log row as the update log writes it (persistence/update-log.ts), the table emptied first.
  'log row, base64': async (knex) => {
    await knex.raw('truncate yjs_updates');
    await knex.raw(`insert into yjs_updates (doc_name, "update") select doc_name, decode(data, 'base64') from unnest(?::text[], ?::text[]) as queued (doc_name, data)`, [
      ['session:bench'],
      [toBase64(state)],
    ]);
    return null;
  },
  'log row, binary': async (knex) => {
    await knex.raw('truncate yjs_updates');
    await knex.raw(`insert into yjs_updates (doc_name, "update") values (?, ?)`, ['session:bench', bytesParameter(state)]);
    return null;
  },
  'log row, copy': async (knex) => {
    await knex.raw('truncate yjs_updates');
    await copyIn(knex, 'yjs_updates', { doc_name: 'text', update: 'bytes' }, [['session:bench', state]]);
    return null;
  },
  'write, raw': async (knex) => {
    await knex.raw(`update yjs_snapshots set state = ?`, [bytesParameter(state)]);
    return null;
  },
};

async function measure(kind: DatabaseKind): Promise<void> {
  const t = await openTestDatabase(kind);
  try {
    const { knex } = t.db;
    await knex.raw(`insert into yjs_snapshots (doc_name, state, last_seq, row_count, updated_at) values ('session:bench', ?, 0, 0, now())`, [
      bytesParameter(state),
    ]);
    // PGlite's thread has no COPY from this process: its log rows go in as base64.
    const mine = Object.entries(variants).filter(([name]) => kind === 'postgres' || name !== 'log row, copy');
    const samples = new Map(mine.map(([name]) => [name, { wall: [] as number[], loop: [] as number[] }]));
    for (let round = 0; round < WARMUP + rounds; round++) {
      for (const [name, run] of mine) {
        const loop0 = performance.eventLoopUtilization();
        const start = performance.now();
        const bytes = await run(knex);
        const wall = performance.now() - start;
        const loop = performance.eventLoopUtilization(loop0).active;
        if (bytes && !Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(Buffer.from(state))) throw new Error(`${kind} ${name}: the bytes read differ`);
        if (round >= WARMUP) {
          samples.get(name)!.wall.push(wall);
          samples.get(name)!.loop.push(loop);
        }
      }
    }
    for (const [name, s] of samples) {
      console.log(`${kind.padEnd(8)} ${name.padEnd(14)} wall ${median(s.wall).toFixed(1).padStart(6)} ms   event loop busy ${median(s.loop).toFixed(1).padStart(6)} ms`);
    }
  } finally {
    await t.cleanup();
  }
}

console.log(`bench:bytea  one ${(state.byteLength / 1e6).toFixed(2)} MB snapshot, ${rounds} rounds, medians`);
for (const kind of databaseKinds()) await measure(kind);
