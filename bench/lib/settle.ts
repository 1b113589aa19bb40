/**
 * Lets a server finish what earlier scenarios left behind before the next is timed. annosync
 * unloads a document IDLE_UNLOAD_MS after its last client left and compacts its log then (merging
 * a 10 000-annotation session costs hundreds of ms of CPU): left to run inside the next scenario's
 * window, that work would count against it — a reconnect round, a fresh join — at random. The
 * reference keeps every document and does nothing in the background, so it settles at once.
 *
 *   const waited = await settle(server)   // ms; documents unloaded, then the CPU quiet
 *   await untilQuiet(server)              // the CPU quiet, documents left loaded
 *
 * Bounded polls, not sleeps: /health's document count, then the server's CPU from /proc.
 */
import { readCpuMs, readHealth } from './server-process.ts';
import type { BenchServer } from './server-process.ts';

const POLL_MS = 250;
/** CPU per poll below which the server counts as idle (4 % of one core). */
const IDLE_CPU_MS = 10;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function settle(server: BenchServer, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  // Every document of earlier scenarios has left memory (its compaction starts then).
  while (performance.now() < deadline && ((await readHealth(server))?.documents ?? 0) > 0) await pause(POLL_MS);
  // Then the compactions (and their database writes) are done.
  await untilQuiet(server, deadline - performance.now());
  return performance.now() - started;
}

/** Waits for two quiet polls in a row (the server's CPU under IDLE_CPU_MS each); ms waited. */
export async function untilQuiet(server: BenchServer, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  let quiet = 0;
  let cpu = readCpuMs(server.pid);
  while (quiet < 2 && performance.now() < deadline) {
    await pause(POLL_MS);
    const now = readCpuMs(server.pid);
    quiet = now - cpu < IDLE_CPU_MS ? quiet + 1 : 0;
    cpu = now;
  }
  return performance.now() - started;
}
