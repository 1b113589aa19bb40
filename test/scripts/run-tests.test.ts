/**
 * `npm test`'s runner (scripts/run-tests.ts), as a child process over fixture files: it adds up
 * every worker's files into one summary, fails the run on a failing test, on a suite whose `before`
 * hook threw (which uvu itself reports as (0 / N) without failing), on a file that throws when
 * loaded, and on a file whose process exited mid-test, and still runs the files queued after it;
 * the failed files' output is repeated next to the summary, where a CI log's tail shows it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

function runTests(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-tests.ts', ...args], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

const summary = (output: string) => ({
  total: Number(/^\s*Total:\s+(\d+)/m.exec(output)?.[1]),
  passed: Number(/^\s*Passed:\s+(\d+)/m.exec(output)?.[1]),
});

test('passing files: one summary of all of them, exit code 0', async () => {
  const { code, output } = await runTests(['test/fixtures/run-tests', 'passes\\.check\\.ts$', '--workers', '2']);
  assert.is(code, 0, output);
  assert.equal(summary(output), { total: 2, passed: 2 });
  assert.is(output.match(/Total:/g)?.length, 1, 'the workers print no summaries of their own');
});

test('a failing test, a throwing before hook, a file that throws at import and a process exit each fail the run; every file still runs', async () => {
  const { code, output } = await runTests(['test/fixtures/run-tests', '\\.check\\.ts$', '--workers', '2']);
  assert.is(code, 1, output);
  // passes 2/2, fails 1/2, before-throws 0/1; throws-at-import and exits counted as 1 failed each.
  assert.equal(summary(output), { total: 7, passed: 3 });
  assert.match(output, /this file cannot be loaded/);
  assert.match(output, /a failing test/);
  assert.match(output, /one is not two/);
  assert.match(output, /exits\.check\.ts: the test process exited \(3\) before the file finished/);
  assert.match(output, /passes\.check\.ts/);
});

test('the failed files are named again after the last file, with their failures, just above the summary', async () => {
  const { output } = await runTests(['test/fixtures/run-tests', '(passes|fails|exits)\\.check\\.ts$', '--workers', '1']);
  const end = output.slice(output.lastIndexOf('Failed: '));
  assert.match(end, /^Failed: .*fails\.check\.ts/);
  assert.match(end, /exits\.check\.ts/);
  assert.not.match(end.split('\n')[0]!, /passes\.check\.ts/);
  assert.match(end, /fails\.check\.ts \(again\):[\s\S]*one is not two[\s\S]*Total:/);
  assert.match(end, /exits\.check\.ts \(again\):\n.*exited \(3\)/);
});

test('--help prints the usage; an unknown option is refused with exit code 2', async () => {
  const help = await runTests(['--help']);
  assert.is(help.code, 0);
  assert.match(help.output, /usage: npm test/);
  const bad = await runTests(['--frobnicate']);
  assert.is(bad.code, 2);
  assert.match(bad.output, /unknown option --frobnicate/);
});

test.run();
