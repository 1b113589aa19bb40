/**
 * Helpers of the tests of background threads (persistence/thread-priority.ts, thread-clock.ts):
 * the nice value of each thread of this process, and a machine kept busy by other processes.
 *
 *   const nices = threadNices()              // Map<tid, nice>, Linux only
 *   assertLowersOneThread(() => pool.merge(updates))   // its work started one thread at nice 10
 *   const busy = await keepCoresBusy(4)      // four threads spinning at the test's priority
 *   try { … } finally { busy.stop() }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { BACKGROUND_NICE } from '../../persistence/thread-priority.ts';

/** Nice value of each of this process's threads, by thread id (Linux: /proc/self/task/<tid>/stat, field 19). */
export function threadNices(): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name, which may itself hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      nices.set(Number(tid), Number(fields[16]));
    } catch {
      // A thread that ended while we listed them.
    }
  }
  return nices;
}

/**
 * `count` threads that spin on a CPU each until stopped, in one child process at the priority this
 * process has: a machine with no core to spare. Threads, not processes, so that three per core stay
 * cheap on a machine with many. Resolves once every one of them runs.
 */
export async function keepCoresBusy(count: number): Promise<{ stop(): void }> {
  const spin = `const { Worker } = require('node:worker_threads');
    let online = 0;
    for (let i = 0; i < ${count}; i++) {
      new Worker('for (;;);', { eval: true }).once('online', () => { if (++online === ${count}) process.stdout.write('spinning\\n'); });
    }`;
  const child: ChildProcess = spawn(process.execPath, ['-e', spin], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = (): void => void child.kill('SIGKILL');
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the spinning process exited with code ${code}`)));
      child.stdout!.once('data', () => resolve());
    });
  } catch (err) {
    stop();
    throw err;
  }
  return { stop };
}

/**
 * Runs `work` (which starts a background thread) and asserts that exactly one thread of this
 * process is at background priority that was not before, and that the main thread kept its own.
 * Never raised: under `nice -n 15` the thread stays at 15, so that is what is looked for then.
 */
export async function assertLowersOneThread(work: () => Promise<unknown>): Promise<void> {
  const mainNice = threadNices().get(process.pid);
  const expected = Math.max(BACKGROUND_NICE, mainNice ?? 0);
  const lowered = (nices: Map<number, number>) => new Set([...nices].filter(([tid, nice]) => nice === expected && tid !== process.pid).map(([tid]) => tid));
  const before = lowered(threadNices());
  await work();
  const now = threadNices();
  const fresh = [...lowered(now)].filter((tid) => !before.has(tid));
  assert.is(fresh.length, 1, `one new thread at nice ${expected}: ${JSON.stringify([...now])}`);
  assert.is(now.get(process.pid), mainNice, 'the main thread keeps its own');
}
