/**
 * The detections repository over the real migrations, on PGlite (and Postgres with DATABASE_URL):
 * a run's detections are listed whole and in the order they were appended, a range of the primary
 * key at a time, whatever other runs appended in between; they go with their run (a trigger, not a
 * foreign key: migrations/20261207_0010_detections_run_trigger.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDetectionRepository, RepeatedTrackBoxError, type DetectionRecord, type DetectionRepository } from '../../persistence/repositories/detections.ts';
import { createProjectRepository } from '../../persistence/repositories/projects.ts';
import { createSessionRepository } from '../../persistence/repositories/sessions.ts';
import { createTestRunRepository } from '../../persistence/repositories/test-runs.ts';
import { createVideoRepository } from '../../persistence/repositories/videos.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

interface Ctx {
  t: TestDatabase;
  detections: DetectionRepository;
  /** Runs between the chunks of a staged upload, then is cleared (`betweenChunks`). */
  pause: (() => Promise<void>) | null;
}

/** Every detection row of a run, those of unfinished uploads too. */
async function stored(knex: TestDatabase['db']['knex'], runId: string): Promise<number> {
  const row = (await knex('detections').where({ run_id: runId }).count({ n: '*' }).first()) as { n: number | string };
  return Number(row.n);
}

/** More detections than one chunk holds on either database (statement-size.ts). */
const LARGE = 120_000;

/**
 * A tracker's output: frames run through 0-499 once per 500 detections (7 is prime to 500), and a
 * track id names one block of 500, so no track has two boxes on a frame (the repository refuses
 * that across uploads).
 */
const detections = (run: string, from: number, count: number): DetectionRecord[] =>
  Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { frame: (i * 7) % 500, bbox: [i % 640, i % 480, 10.5, 20.25], label: i % 3 ? 'car' : 'person', score: (i % 100) / 100, detectionId: `${run}-${i}`, trackId: i % 5 ? null : `t${Math.floor(i / 500)}` };
  });

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`detections repository (${kind})`);
  test.before(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    const { knex } = ctx.t.db;
    await createProjectRepository({ knex }).create({ id: 'p', name: 'P' });
    await createVideoRepository({ knex }).create({ id: 'v', name: 'v', uri: 's3://v', width: 640, height: 480, fps: 25, frameCount: 500, durationSec: 20 });
    await createSessionRepository({ knex }).create({ id: 's', projectId: 'p', videoId: 'v', name: 's', docName: 'session:s', createdBy: 'alice' });
    const runs = createTestRunRepository({ knex });
    for (const id of ['a', 'b', 'c', 'empty', 'dropped', 'staged', 'failing', 'finishing', 'repeats']) await runs.create({ id, projectId: 'p', videoId: 'v', sessionId: 's', model: { name: 'm', version: '1' }, createdBy: 'alice' });
    // A second project, deleted by one test with everything under it.
    await createProjectRepository({ knex }).create({ id: 'p2', name: 'P2' });
    await createSessionRepository({ knex }).create({ id: 's2', projectId: 'p2', videoId: 'v', name: 's2', docName: 'session:s2', createdBy: 'alice' });
    await runs.create({ id: 'of-p2', projectId: 'p2', videoId: 'v', sessionId: 's2', model: { name: 'm', version: '1' }, createdBy: 'alice' });
    ctx.pause = null;
    ctx.detections = createDetectionRepository({
      knex,
      betweenChunks: async () => {
        const pause = ctx.pause;
        ctx.pause = null;
        await pause?.();
      },
    });
  });
  test.after(async (ctx) => ctx.t.cleanup());

  test('a run is listed whole and in append order across pages, with other runs appended in between', async ({ detections: repo }) => {
    // b's 45 000 leave a gap in a's sequence numbers wider than two pages on either database.
    await repo.append('a', detections('a', 0, 7000));
    await repo.append('b', detections('b', 0, 45_000));
    await repo.append('a', detections('a', 7000, 5000));
    await repo.append('b', detections('b', 45_000, 10));
    assert.equal(await repo.list('a'), detections('a', 0, 12_000));
    assert.equal(await repo.list('b'), detections('b', 0, 45_010));
    // What names a run's visible detections: their count, from the run's row, and its creation.
    const [a, b] = [await repo.visibleSet('a'), await repo.visibleSet('b')];
    assert.equal([a.count, b.count], [12_000, 45_010]);
    assert.ok(a.created !== '' && b.created !== '', 'a run has a creation');
    assert.equal(await repo.visibleSet('no-such-run'), { count: 0, created: '' });
  });

  test('a run of exactly a whole number of pages, and a run with none, are listed exactly', async ({ detections: repo }) => {
    await repo.append('c', detections('c', 0, 10_000));
    assert.equal(await repo.list('c'), detections('c', 0, 10_000));
    assert.equal(await repo.list('empty'), []);
    assert.equal(await repo.list('no-such-run'), []);
  });

  test('a run\'s detections go with the run, deleted itself or with its project, and no other run\'s do', async ({ t, detections: repo }) => {
    const { knex } = t.db;
    await repo.append('dropped', detections('dropped', 0, 300));
    await repo.append('of-p2', detections('of-p2', 0, 200));
    const before = await repo.count('a');
    await knex('test_runs').where({ id: 'dropped' }).del();
    assert.is(await repo.count('dropped'), 0);
    assert.is(await repo.count('of-p2'), 200);
    await createProjectRepository({ knex }).delete('p2');
    assert.is(await repo.count('of-p2'), 0);
    assert.is(await repo.count('a'), before);
  });

  test('a large upload is seen whole or not at all, and the database answers others between its chunks', async (ctx) => {
    const { knex } = ctx.t.db;
    const repo = ctx.detections;
    const seen: Array<{ listed: number; counted: number; written: number; run: number }> = [];
    ctx.pause = async () => {
      // A statement of its own, as any other request's, while the upload is half written.
      const run = (await knex('test_runs').where({ id: 'staged' }).first()) as { detection_count: number };
      seen.push({ listed: (await repo.list('staged')).length, counted: await repo.count('staged'), written: await stored(knex, 'staged'), run: Number(run.detection_count) });
    };
    const result = await repo.append('staged', detections('staged', 0, LARGE));
    assert.ok(result && 'run' in result && !('conflict' in result));
    assert.is(result.run.detectionCount, LARGE);
    assert.equal(seen.length, 1);
    assert.equal({ ...seen[0], written: undefined }, { listed: 0, counted: 0, written: undefined, run: 0 });
    assert.ok(seen[0]!.written > 0, 'a chunk was written when the others looked');
    assert.equal(await repo.list('staged'), detections('staged', 0, LARGE));
    assert.equal(await knex('detection_uploads').select('id'), []);
  });

  test('a large upload that fails part way leaves nothing behind', async (ctx) => {
    const { knex } = ctx.t.db;
    const rows = detections('failing', 0, LARGE);
    rows[LARGE - 1] = { ...rows[LARGE - 1]!, score: 2 }; // refused by the table's check, in the last chunk
    await ctx.detections.append('failing', rows).then(
      () => assert.unreachable('the upload fails'),
      (err: { code?: string }) => assert.is(err.code, '23514'),
    );
    assert.is(await stored(knex, 'failing'), 0);
    assert.equal(await knex('detection_uploads').select('id'), []);
    const run = (await knex('test_runs').where({ id: 'failing' }).first()) as { detection_count: number };
    assert.is(Number(run.detection_count), 0);
  });

  test('a run that finishes while a large upload is written refuses it, and keeps none of it', async (ctx) => {
    const { knex } = ctx.t.db;
    ctx.pause = async () => {
      await knex('test_runs').where({ id: 'finishing' }).update({ status: 'completed' });
    };
    const result = await ctx.detections.append('finishing', detections('finishing', 0, LARGE));
    assert.ok(result && 'conflict' in result);
    assert.is(result.conflict, 'finished');
    assert.is(await stored(knex, 'finishing'), 0);
    assert.equal(await knex('detection_uploads').select('id'), []);
  });

  test('the rows of an upload left unfinished are hidden, and swept once old enough', async ({ t, detections: repo }) => {
    const { knex } = t.db;
    // As a process that died between chunks leaves them.
    await knex('detection_uploads').insert({ id: 'dead', run_id: 'a' });
    const before = await repo.count('a');
    await knex.raw(`insert into detections (run_id, upload_id, frame, x, y, w, h, label, score) values ('a', 'dead', 0, 0, 0, 1, 1, 'car', 0.5)`);
    assert.is(await repo.count('a'), before);
    assert.is(await repo.sweepAbandoned(60 * 60_000), 0, 'a recent upload may still be being written');
    assert.is(await repo.sweepAbandoned(0), 1);
    assert.is(await stored(knex, 'a'), before);
    assert.equal(await knex('detection_uploads').select('id'), []);
  });

  test('an upload repeating a box an earlier upload of the run stored (track, label, frame) is refused whole, small or in chunks', async (ctx) => {
    const { knex } = ctx.t.db;
    const repo = ctx.detections;
    const box = (frame: number, label: string, trackId: string | null): DetectionRecord => ({ frame, bbox: [1, 1, 5, 5], label, score: 0.5, detectionId: null, trackId });
    assert.ok(await repo.append('repeats', [box(3, 'car', 'x'), box(3, 'car', null)]));
    const refused = (err: unknown) => {
      assert.instance(err, RepeatedTrackBoxError);
      assert.equal((err as RepeatedTrackBoxError).box, { frame: 3, label: 'car', trackId: 'x' });
    };
    await repo.append('repeats', [box(4, 'car', 'x'), box(3, 'car', 'x')]).then(() => assert.unreachable('refused'), refused);
    // Chunked: the repeat is the last of LARGE rows, none of which may stay.
    const large: DetectionRecord[] = detections('repeats', 0, LARGE).map((d) => ({ ...d, trackId: null }));
    large[LARGE - 1] = box(3, 'car', 'x');
    await repo.append('repeats', large).then(() => assert.unreachable('refused'), refused);
    assert.is(await stored(knex, 'repeats'), 2);
    assert.equal(await knex('detection_uploads').select('id'), []);
    // Not repeats: no track id, another label, another frame, another run.
    assert.ok(await repo.append('repeats', [box(3, 'car', null), box(3, 'person', 'x'), box(5, 'car', 'x')]));
    assert.ok(await repo.append('c', [box(3, 'car', 'x')]));
    assert.is(await repo.count('repeats'), 5);
  });

  test('an append to a run that does not exist stores nothing', async ({ detections: repo }) => {
    assert.is(await repo.append('never-created', detections('x', 0, 5)), null);
    assert.is(await repo.count('never-created'), 0);
  });

  test.run();
}
