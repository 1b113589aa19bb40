/**
 * Rows of the document store as the persistence tests write and read them: updates appended
 * through the group-committed log (as the server stores them), and a snapshot's bookkeeping.
 */
import type { Knex } from 'knex';
import { createUpdateLog } from '../../persistence/update-log.ts';

/** Stores updates the way the server does: through the group-committed log. */
export async function appendAll(knex: Knex, docName: string, updates: Uint8Array[]): Promise<void> {
  const log = createUpdateLog({ knex });
  await Promise.all(updates.map((update) => log.append(docName, update)));
  await log.close();
}

export type SnapshotRow = { last_seq: string; row_count: string };

export async function snapshotRow(knex: Knex, docName: string): Promise<SnapshotRow | undefined> {
  return knex('yjs_snapshots')
    .select(knex.raw('last_seq::text'), knex.raw('row_count::text'))
    .where({ doc_name: docName })
    .first();
}
