/**
 * The crash test, short: a few SIGKILLs of the real server process (a child, as `npm start` runs it)
 * while clients with tokens and durable acknowledgements edit a session created over REST. Every
 * acknowledged edit must be there after the last restart. `npm run crashtest` runs it long.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCrashtest } from '../../tools/crashtest.ts';

test('no acknowledged edit is lost when the server is killed mid-write and restarted', async () => {
  const seed = Number(process.env.CRASHTEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const report = await runCrashtest({ kills: 2, clients: 4, seed });
  console.log(
    `  crashtest: seed ${seed} (replay with CRASHTEST_SEED=${seed}), ${report.acknowledged} acknowledged, ${report.lost.length} lost, ${report.killsMidWrite} of ${report.kills} kills mid-write`,
  );
  assert.ok(report.acknowledged > 0, 'edits were acknowledged');
  assert.equal(report.lost, [], `acknowledged edits lost; replay with CRASHTEST_SEED=${seed}`);
});

test.run();
