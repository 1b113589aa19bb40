/**
 * openDatabase: both drivers hand bytea back as the same bytes (as plain Uint8Arrays), PGlite
 * keeps its data in its directory across a reopen, a new directory is made by initdb in a child
 * process that reports its failure, health probing, idempotent close, and a bad
 * schema name refused before anything is created.
 */
import { suite } from 'uvu';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { openDatabase, isReachable, DatabaseConfigError, type DatabaseConfig } from '../../persistence/database.ts';
import { createDocStore } from '../../persistence/doc-store.ts';
import { createUpdateLog } from '../../persistence/update-log.ts';
import { databaseKinds, openTestDatabase, type DatabaseKind, type TestDatabase } from '../../tools/databases.ts';

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

const storageOf = (kind: DatabaseKind): DatabaseConfig =>
  kind === 'postgres' ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: 'memory://' };

for (const kind of databaseKinds()) {
  const test = suite<{ t: TestDatabase }>(`database (${kind})`);

  // One database per suite (a PGlite start takes seconds); the last test closes it.
  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
  });
  test.after(async (ctx) => {
    await ctx.t.cleanup();
  });

  test('bytea round-trips every byte value, empty and large values, as plain Uint8Arrays', async ({ t }) => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const large = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) & 0xff);
    const values = [all, new Uint8Array(0), large, Buffer.from([0, 1, 0]), all.subarray(10, 20)];
    const log = createUpdateLog({ knex: t.db.knex });
    await Promise.all(values.map((value) => log.append('bytes', value)));
    await log.close();
    const loaded = await createDocStore({ knex: t.db.knex }).load('bytes');
    assert.is(loaded.length, values.length);
    loaded.forEach((bytes, i) => {
      assert.is(bytes.constructor, Uint8Array, `value ${i} comes back as a plain Uint8Array`);
      assert.ok(sameBytes(bytes, values[i]!), `value ${i} round-trips`);
    });
  });

  test('a schema name that is not a plain identifier is refused', async () => {
    const err = await openDatabase({ ...storageOf(kind), schema: 'x"; drop table y; --' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(err, DatabaseConfigError);
  });

  test('isReachable says yes while open and no once closed; close is idempotent', async ({ t }) => {
    assert.is(await isReachable(t.db), true);
    assert.is(t.db.kind, kind);
    await Promise.all([t.db.close(), t.db.close()]);
    await t.db.close();
    assert.is(await isReachable(t.db), false);
  });

  if (kind === 'pglite') {
    test('a PGlite directory keeps its documents across a reopen', async () => {
      const t = await openTestDatabase(kind);
      try {
        const log = createUpdateLog({ knex: t.db.knex });
        await log.append('kept', new Uint8Array([1, 2, 3]));
        await log.close();
        await t.db.close();
        const again = await openDatabase(t.config);
        try {
          const loaded = await createDocStore({ knex: again.knex }).load('kept');
          assert.equal(loaded.map((bytes) => [...bytes]), [[1, 2, 3]]);
        } finally {
          await again.close();
        }
      } finally {
        await t.cleanup();
      }
    });

    test('a new PGlite directory is created by initdb in a child process, whose failure is reported with its reason', async () => {
      const root = mkdtempSync(path.join(tmpdir(), 'annosync-initdb-'));
      try {
        const fresh = path.join(root, 'fresh');
        const db = await openDatabase({ dataDir: fresh });
        try {
          assert.ok(existsSync(path.join(fresh, 'PG_VERSION')), 'initdb wrote the directory');
          assert.equal(await db.knex('yjs_snapshots').count('* as n').first(), { n: 0 }, 'and the migrations ran on it');
        } finally {
          await db.close();
        }
        // A directory initdb cannot use: `base` is a file where it makes a directory.
        const broken = path.join(root, 'broken');
        mkdirSync(broken);
        writeFileSync(path.join(broken, 'base'), 'not a directory');
        const err = await openDatabase({ dataDir: broken }).then(() => null, (e: unknown) => e as Error);
        assert.ok(err, 'the open fails');
        assert.match(err.message, /PGlite initdb in .*broken exited with 1: .+/);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }

  test.run();
}
