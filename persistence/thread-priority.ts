/**
 * Background threads give way to the event loop. Every socket of every document is served by the
 * main thread; the import parser and the merge worker do batch work (a second or more of CPU for a
 * large upload or a large document's load) that nobody waits for to the millisecond. On a machine
 * with fewer cores than busy threads the kernel shares them out in equal slices, so a delivery
 * arriving while such a thread runs can wait its turn behind it although the main thread itself is
 * idle (bench/loop-stalls.ts, a COCO import of 10 000 annotations, deliveries delayed 40-90 ms).
 *
 *   runAtBackgroundPriority()   // first thing in a background thread's entry
 *
 * On Linux the nice value belongs to each thread, not to the process (setpriority(2), BUGS:
 * PRIO_PROCESS with a thread id as `who` changes that thread alone), so this lowers the calling
 * thread only, found by its id in /proc/thread-self. Raising it back needs privileges, so a
 * thread lowered stays lowered; the threads that call this are only ever background threads.
 * Elsewhere, or where /proc is not mounted, it does nothing.
 *
 * A lowered thread's work takes longer in wall-clock time whenever the event loop is busy, so a
 * time budget for it must be kept in its CPU time (thread-clock.ts), as the merge worker's is.
 *
 * PGlite's thread is not lowered: every commit waits for it. At nice 5 and at nice 10, bench:sync's
 * throughput on PGlite fell 10-15 % (3 alternated runs each) and its delivery p99 was no better.
 */
import { getPriority, setPriority } from 'node:os';
import { currentThreadId } from './thread-clock.ts';

/**
 * Nice 10 against the main thread's 0: by the kernel's weights (1024 against 110) the main thread
 * gets ~90 % of a core the two contend for, and an idle core still runs the background thread at
 * full speed.
 */
export const BACKGROUND_NICE = 10;

/**
 * Lowers the calling thread's priority to `BACKGROUND_NICE`; never raises it (a server started with
 * `nice -n 15` keeps 15).
 */
export function runAtBackgroundPriority(): void {
  const tid = currentThreadId();
  if (tid === null) return;
  try {
    if (getPriority(tid) < BACKGROUND_NICE) setPriority(tid, BACKGROUND_NICE);
  } catch {
    // A kernel that refuses: the thread runs as before.
  }
}
