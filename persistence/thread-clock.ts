/**
 * How much CPU one thread of this process has used: the clock a background thread's time budget is
 * kept in (merge-worker.ts). Wall-clock time counts the moments the thread waited for a core, so a
 * budget in wall time cuts off honest work on a busy machine, the more so for a thread that runs at
 * background priority (thread-priority.ts); CPU time counts only the work.
 *
 *   const tid = currentThreadId()      // in the thread, sent to whoever keeps its clock
 *   const used = threadCpuMs(tid)      // from any thread of the process
 *
 * Linux only: a thread's id from /proc/thread-self, its time on a CPU from
 * /proc/self/task/<tid>/schedstat (proc(5): the first field, in nanoseconds). Elsewhere, or where
 * /proc is not mounted, both give null and the caller keeps wall-clock time.
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** The calling thread's kernel id, or null where it cannot be known. */
export function currentThreadId(): number | null {
  if (process.platform !== 'linux') return null;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/** CPU time thread `tid` of this process has run, in ms; null when unreadable (or the thread ended). */
export function threadCpuMs(tid: number): number | null {
  try {
    const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ', 1)[0]);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}
