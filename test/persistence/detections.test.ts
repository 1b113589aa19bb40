/**
 * The detections repository over the real migrations, on PGlite (and Postgres with DATABASE_URL):
 * a run's detections are listed whole and in the order they were appended, a range of the primary
 * key at a time, whatever other runs appended in between.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDetectionRepository, type DetectionRecord, type DetectionRepository } from '../../persistence/repositories/detections.ts';
import { createProjectRepository } from '../../persistence/repositories/projects.ts';
import { createSessionRepository } from '../../persistence/repositories/sessions.ts';
import { createTestRunRepository } from '../../persistence/repositories/test-runs.ts';
import { createVideoRepository } from '../../persistence/repositories/videos.ts';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';

interface Ctx {
  t: TestDatabase;
  detections: DetectionRepository;
}

const detections = (run: string, from: number, count: number): DetectionRecord[] =>
  Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { frame: (i * 7) % 500, bbox: [i % 640, i % 480, 10.5, 20.25], label: i % 3 ? 'car' : 'person', score: (i % 100) / 100, detectionId: `${run}-${i}`, trackId: i % 5 ? null : `t${i % 11}` };
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
    for (const id of ['a', 'b', 'c', 'empty']) await runs.create({ id, projectId: 'p', videoId: 'v', sessionId: 's', model: { name: 'm', version: '1' }, createdBy: 'alice' });
    ctx.detections = createDetectionRepository({ knex });
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
  });

  test('a run of exactly a whole number of pages, and a run with none, are listed exactly', async ({ detections: repo }) => {
    await repo.append('c', detections('c', 0, 10_000));
    assert.equal(await repo.list('c'), detections('c', 0, 10_000));
    assert.equal(await repo.list('empty'), []);
    assert.equal(await repo.list('no-such-run'), []);
  });

  test.run();
}
