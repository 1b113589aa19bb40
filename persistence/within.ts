/**
 * Work that must commit or roll back with a repository write: the outbox event of that change
 * (docs/webhooks.md, "Durable and at-least-once"). A repository method that takes one runs its
 * write and then the callback in one transaction, handing it the written record.
 *
 *   await sessions.create(input, (trx, session) => events.append({ type: 'session.created', … }, trx))
 */
import type { Knex } from 'knex';

export type Within<R> = (trx: Knex.Transaction, record: R) => Promise<unknown>;

/** Runs `write` alone, or with `within` in one transaction. */
export async function writeWithin<R>(
  knex: Knex,
  write: (db: Knex | Knex.Transaction) => Promise<R>,
  within: Within<R> | undefined,
  /** Whether `within` applies to this result (a write that changed nothing has no event). */
  applies: (record: R) => boolean = () => true,
): Promise<R> {
  if (!within) return write(knex);
  return knex.transaction(async (trx) => {
    const record = await write(trx);
    if (applies(record)) await within(trx, record);
    return record;
  });
}
