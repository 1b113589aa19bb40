/**
 * Who stores a fanned-out update (server/followers/fanout-stores.ts), against a real update log on
 * a real database: a received update covered by its sender's notice is never stored here; one
 * whose notice does not come is stored after `storeAfterMs` under its sender's key (so the
 * sender's own row, if it comes after all, is skipped); close() stores whatever still waits; our
 * own rows are announced once committed, one notice for everything a commit covered.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createUpdateLog, type UpdateLog } from '../../persistence/update-log.ts';
import { createFanoutStores } from '../../server/followers/fanout-stores.ts';
import { createUpdateKeys, updateKeyText } from '../../server/documents/update-keys.ts';
import { silentLogger } from '../../shared/logger.ts';
import { openTestDatabase, waitFor, type TestDatabase } from '../../tools/databases.ts';

const test = suite<{ t: TestDatabase; log: UpdateLog }>('fan-out stores');

test.before(async (ctx) => {
  ctx.t = await openTestDatabase('pglite');
});
test.before.each((ctx) => {
  ctx.log = createUpdateLog({ knex: ctx.t.db.knex, intervalMs: 5 });
});
test.after.each(async (ctx) => {
  await ctx.log.close();
});
test.after(async (ctx) => {
  await ctx.t.cleanup();
});

let docCounter = 0;
const freshDoc = () => `session:stores-${process.pid}-${++docCounter}`;

async function keysOf(t: TestDatabase, docName: string): Promise<Array<string | null>> {
  const rows: Array<{ update_key: string | null }> = await t.db.knex('yjs_updates').select('update_key').where({ doc_name: docName }).orderBy('seq');
  return rows.map((row) => row.update_key);
}

test('updates covered by their sender\'s notice resolve and are never stored here', async ({ t, log }) => {
  const stores = createFanoutStores({ log, storeAfterMs: 60_000, publishStored: () => {}, logger: silentLogger });
  const doc = freshDoc();
  const durable = [1, 2, 3].map((seq) => stores.received(doc, 'sender', seq, new Uint8Array([seq])));
  let resolved = 0;
  for (const promise of durable) void promise.then(() => resolved++);
  stores.noticed(doc, 'sender', 2);
  await durable[1];
  assert.is(resolved, 2, 'the notice covers seq 1 and 2, not 3');
  assert.is(stores.pending(), 1);
  stores.noticed(freshDoc(), 'sender', 3); // another document's notice
  stores.noticed(doc, 'someone-else', 3); // another sender's
  assert.is(stores.pending(), 1);
  stores.noticed(doc, 'sender', 3);
  await durable[2];
  assert.is(stores.pending(), 0);
  await stores.close();
  await log.flush();
  assert.equal(await keysOf(t, doc), []);
});

test('an update with no notice is stored after storeAfterMs under its sender\'s key, once even if the sender stores it too', async ({ t, log }) => {
  let storedInPlace = 0;
  const stores = createFanoutStores({ log, storeAfterMs: 50, publishStored: () => {}, logger: silentLogger, onStoredInPlace: () => storedInPlace++ });
  const doc = freshDoc();
  const durable = stores.received(doc, 'gone', 7, new Uint8Array([7]));
  await durable;
  assert.is(storedInPlace, 1);
  assert.equal(await keysOf(t, doc), ['gone:7']);
  // The sender's own row comes late (it was alive after all): skipped.
  await log.append(doc, new Uint8Array([7]), 'gone:7');
  assert.equal(await keysOf(t, doc), ['gone:7']);
  await stores.close();
});

test('close() stores what still waits for a notice', async ({ t, log }) => {
  const stores = createFanoutStores({ log, storeAfterMs: 60_000, publishStored: () => {}, logger: silentLogger });
  const doc = freshDoc();
  const durable = [stores.received(doc, 'a', 1, new Uint8Array([1])), stores.received(doc, 'b', 4, new Uint8Array([4]))];
  await stores.close();
  await Promise.all(durable);
  assert.equal((await keysOf(t, doc)).sort(), ['a:1', 'b:4']);
  assert.is(stores.pending(), 0);
});

test('own rows are announced once committed: one notice with the latest seq a commit covered', async ({ log }) => {
  const notices: Array<[string, number]> = [];
  const stores = createFanoutStores({ log, storeAfterMs: 60_000, publishStored: (docName, seq) => notices.push([docName, seq]), logger: silentLogger });
  const keys = createUpdateKeys();
  const doc = freshDoc();
  const other = freshDoc();
  const rows = [doc, doc, other, doc].map((docName, i) => {
    const key = keys.next();
    const row = { key, committed: log.append(docName, new Uint8Array([i]), updateKeyText(key)) };
    stores.sent(docName, row);
    return row;
  });
  assert.equal(notices, [], 'nothing announced before the commit');
  await Promise.all(rows.map((row) => row.committed));
  await waitFor(() => notices.length === 2);
  assert.equal(
    notices.sort((x, y) => x[1] - y[1]),
    [
      [other, 3],
      [doc, 4],
    ],
  );
  await stores.close();
});

test.run();
