/**
 * ThreadJobs (persistence/thread-jobs.ts): jobs answered by one worker thread, which a death
 * replaces and an idle spell ends.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { ThreadJobs } from '../../persistence/thread-jobs.ts';
import { waitFor } from '../../tools/databases.ts';

const test = suite('thread jobs');

/** A thread that doubles `n`, and exits with code 3 when asked to double -1. */
const doubler = (): Worker =>
  new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', ({ id, n }) => { if (n === -1) process.exit(3); parentPort.postMessage({ id, value: 2 * n }); });`,
    { eval: true },
  );

function doubling(opts: { idleMs?: number } = {}): ThreadJobs<number> {
  const jobs: ThreadJobs<number> = new ThreadJobs({ name: 'doubling', start: doubler, closed: () => new Error('closed'), ...opts }, (reply: { id: number; value: number }) =>
    jobs.resolve(reply.id, reply.value),
  );
  return jobs;
}

const double = (jobs: ThreadJobs<number>, n: number): Promise<number> => jobs.run((worker, id) => worker.postMessage({ id, n }));

test('jobs sent together are answered, each its own, by one thread', async () => {
  const jobs = doubling();
  try {
    assert.equal(await Promise.all([1, 2, 3].map((n) => double(jobs, n))), [2, 4, 6]);
    assert.equal(jobs.stats(), { workersStarted: 1, workersEnded: 0 });
  } finally {
    await jobs.close();
  }
});

test('a thread that dies fails the jobs it held, and the next job starts a fresh one', async () => {
  const jobs = doubling();
  try {
    const dying = double(jobs, -1).then(
      () => null,
      (err: Error) => err.message,
    );
    assert.is(await dying, 'the doubling thread failed: exited with code 3');
    assert.is(await double(jobs, 5), 10);
    assert.equal(jobs.stats(), { workersStarted: 2, workersEnded: 0 });
  } finally {
    await jobs.close();
  }
});

test('a job whose message cannot be sent fails, and leaves the thread free to end when idle', async () => {
  const jobs = doubling({ idleMs: 10 });
  try {
    const unsendable = await jobs.run((worker, id) => worker.postMessage({ id, n: () => 1 })).then(
      () => null,
      (err: Error) => err.name,
    );
    assert.is(unsendable, 'DataCloneError');
    await waitFor(() => jobs.stats().workersEnded === 1, { message: 'the thread was kept by the failed job' });
  } finally {
    await jobs.close();
  }
});

test('an idle thread is ended; after close a job is refused with the closed error', async () => {
  const jobs = doubling({ idleMs: 10 });
  assert.is(await double(jobs, 1), 2);
  await waitFor(() => jobs.stats().workersEnded === 1, { message: 'the idle thread was not ended' });
  assert.is(await double(jobs, 2), 4);
  await jobs.close();
  const refused = await double(jobs, 3).then(
    () => null,
    (err: Error) => err.message,
  );
  assert.is(refused, 'closed');
});

test.run();
