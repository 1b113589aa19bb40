/**
 * Where the services say what happened (docs/webhooks.md): each event is stored in the outbox in
 * the transaction of the change that caused it (`within`), or — for a change the database does not
 * hold in a transaction of its own, a document change the update log committed — right after that
 * commit (`emit`). Stored events feed the webhook dispatcher, woken once they are committed, and the
 * dashboards' activity list.
 *
 *   await repos.sessions.create(input, sink.within((s) => [{ projectId, type: 'session.created', actor, data: { session: s } }]))
 *   await sink.emit({ projectId, type: 'import.completed', actor, data: { sessionId, … } })
 */
import type { Knex } from 'knex';
import type { EventRepository, NewEvent } from '../../persistence/repositories/events.ts';
import type { Within } from '../../persistence/within.ts';

export interface EventSink {
  /** A repository callback that appends the event in the write's transaction. */
  within<R>(events: (record: R) => NewEvent[]): Within<R>;
  /** Appends in a transaction of its own. */
  emit(event: NewEvent): Promise<void>;
}

export function createEventSink(deps: { events: EventRepository; onStored: () => void }): EventSink {
  const wake = (trx: Knex.Transaction) => {
    // Knex settles `executionPromise` when the transaction has committed (or rolled back).
    trx.executionPromise.then(deps.onStored, () => undefined);
  };
  return {
    within(events) {
      return async (trx, record) => {
        const list = events(record);
        for (const event of list) await deps.events.append(event, trx);
        if (list.length > 0) wake(trx);
      };
    },
    async emit(event) {
      await deps.events.append(event);
      deps.onStored();
    },
  };
}
