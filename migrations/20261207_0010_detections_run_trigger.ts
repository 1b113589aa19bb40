/**
 * Detections leave their run by a trigger, not a foreign key. A foreign key checks every inserted
 * row on its own (Postgres's RI trigger: a `select … for key share` on `test_runs` per row), and
 * that was half of what an upload cost: 50 000 detections inserted in PGlite in 2.0-2.2 s with the
 * key, 0.8-1.2 s without (the statements of `persistence/repositories/detections.ts`, three rounds
 * each). On PGlite one upload holds the only connection for that long (docs/architecture.md,
 * "Reading over REST"). What the key guaranteed still holds: the one path that inserts detections
 * locks its run's row first (`for update`, in the same transaction) and inserts nothing when there
 * is none, so no detection can name a run that is not there; and the trigger deletes a run's
 * detections with it, after each deleted run (a project's or video's deletion cascades to its runs
 * and so to this trigger), as `on delete cascade` did.
 *
 * `down` drops the trigger and puts the key back.
 */
import type { Knex } from 'knex';

export const name = '20261207_0010_detections_run_trigger';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table detections drop constraint detections_run_id_fkey');
  await knex.raw(`
    create function detections_of_deleted_run() returns trigger language plpgsql as $$
    begin
      delete from detections where run_id = old.id;
      return null;
    end
    $$`);
  await knex.raw(`
    create trigger test_runs_delete_detections after delete on test_runs
    for each row execute function detections_of_deleted_run()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists test_runs_delete_detections on test_runs');
  await knex.raw('drop function if exists detections_of_deleted_run()');
  await knex.raw('delete from detections where run_id not in (select id from test_runs)');
  await knex.raw('alter table detections add constraint detections_run_id_fkey foreign key (run_id) references test_runs (id) on delete cascade');
}
