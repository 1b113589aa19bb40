/**
 * What one update-log INSERT costs this process, sent through `knex.raw` or as a direct statement
 * (persistence/direct-statement.ts, what update-log.ts uses): the event loop's CPU per INSERT of
 * `--rows` small rows in the binary array form, medians of alternated rounds, the table emptied
 * before each round. On PGlite the figure includes PGlite's thread (process CPU).
 *
 *   npx tsx bench/log-statement.ts                 # PGlite in memory
 *   npx tsx bench/log-statement.ts --postgres      # postgres://postgres@127.0.0.1:5432/test, own schema
 *   npx tsx bench/log-statement.ts --rows=240 --rounds=12
 *
 * The loops here make knex's code hot, which a server committing a few dozen times a second never
 * does, so this understates what the direct statement saves there (docs/architecture.md, "Durability").
 */
import { openDatabase } from '../persistence/database.ts';
import { directStatement } from '../persistence/direct-statement.ts';
import { byteaArray, textArray } from '../persistence/binary-arrays.ts';
import { median } from './lib/stats.ts';

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.slice(name.length + 3)) : fallback;
};
const postgres = process.argv.includes('--postgres');
const rows = arg('rows', 50);
const rounds = arg('rounds', 10);
const perRound = arg('per-round', 100);
const schema = `log_statement_${process.pid}`;

const db = await openDatabase(postgres ? { databaseUrl: 'postgres://postgres@127.0.0.1:5432/test', schema } : { dataDir: 'memory://' });
const { knex } = db;
const names = textArray(Array.from({ length: rows }, (_, i) => `session:bench-${i % 5}`));
const data = byteaArray(Array.from({ length: rows }, () => new Uint8Array(40).fill(7)));
const text = `insert into yjs_updates (doc_name, "update") select doc_name, data from unnest($1::text[], $2::bytea[]) as queued (doc_name, data)`;
const direct = directStatement('bench_log_insert', text);
const ways = {
  'knex.raw': () => knex.raw(text.replace('$1', '?').replace('$2', '?'), [names, data]),
  direct: () => direct.run(knex, [names, data]),
};

async function cpuPerRun(run: () => Promise<unknown>, n: number): Promise<number> {
  await knex('yjs_updates').where('doc_name', 'like', 'session:bench-%').delete();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

try {
  for (let i = 0; i < 3; i++) for (const run of Object.values(ways)) await cpuPerRun(run, perRound);
  const samples = { 'knex.raw': [] as number[], direct: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    samples['knex.raw'].push(await cpuPerRun(ways['knex.raw'], perRound));
    samples.direct.push(await cpuPerRun(ways.direct, perRound));
  }
  const lower = samples.direct.filter((value, i) => value < samples['knex.raw'][i]!).length;
  console.log(`${postgres ? 'postgres' : 'pglite'}: CPU per INSERT of ${rows} rows, median of ${rounds} rounds of ${perRound}`);
  console.log(`  knex.raw  ${median(samples['knex.raw']).toFixed(0)} µs`);
  console.log(`  direct    ${median(samples.direct).toFixed(0)} µs  (lower in ${lower} of ${rounds} rounds)`);
} finally {
  await knex('yjs_updates').where('doc_name', 'like', 'session:bench-%').delete();
  if (postgres) await knex.raw('drop schema if exists ?? cascade', [schema]);
  await db.close();
}
