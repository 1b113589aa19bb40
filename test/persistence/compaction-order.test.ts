import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDocStore } from '../../persistence/doc-store.ts';
import { createUpdateLog } from '../../persistence/update-log.ts';
import { databaseKinds, openTestDatabase } from '../../tools/databases.ts';

for (const kind of databaseKinds()) {
  const test = suite(`compaction order (${kind})`);

  test('compaction hands the log to the merge in append order, past the point where text and number order differ', async () => {
    const { db, cleanup } = await openTestDatabase(kind);
    try {
      const log = createUpdateLog({ knex: db.knex });
      const appended = Array.from({ length: 25 }, (_, i) => new Uint8Array([i]));
      for (const update of appended) void log.append('session:order', update);
      await log.flush();
      await log.close();
      let seen: number[] = [];
      const store = createDocStore({
        knex: db.knex,
        merge: async (updates) => {
          seen = updates.map((u) => u[0]!);
          return new Uint8Array([0, 0]);
        },
      });
      await store.compact('session:order');
      assert.equal(seen, appended.map((u) => u[0]!));
    } finally {
      await cleanup();
    }
  });

  test.run();
}
