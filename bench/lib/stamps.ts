/**
 * Timestamped updates for the latency scenarios: a writer sets one Y.Map key to
 * `[seq, absoluteNow()]`, receivers turn each newer stamp into a delivery and a latency.
 *
 *   watchStamps(receiver, (delivered, seq, latencyMs) => …);
 *   sendStamp(writer, 0);
 *
 * Stamps are absolute (performance.timeOrigin + performance.now()), so receivers in other
 * processes on this machine can subtract them too.
 */
import type { Client } from './clients.ts';

export const BENCH_MAP = 'bench';
export const KEY = 't';

export function absoluteNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Reads `[seq, sentAt]` stamps; null for anything else. */
export function readStamp(client: Client): [number, number] | null {
  const v = client.doc.getMap<unknown>(BENCH_MAP).get(KEY);
  if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'number') return null;
  return [v[0], v[1]];
}

/** Sets stamp `seq`; returns the time it carries. */
export function sendStamp(client: Client, seq: number): number {
  const sentAt = absoluteNow();
  client.doc.getMap<unknown>(BENCH_MAP).set(KEY, [seq, sentAt]);
  return sentAt;
}

/**
 * Calls `onArrival(newDeliveries, seq, latencyMs, arrivedAt)` when `client` sees a newer stamp.
 * Counting by sequence number stays right even if a server coalesces several updates into one
 * message; `latencyMs` is then the newest stamp's, and the older ones it carried waited longer: a
 * caller that knows when each was sent (its writer is in this process) computes theirs from
 * `arrivedAt`.
 */
export function watchStamps(client: Client, onArrival: (delivered: number, seq: number, latencyMs: number, arrivedAt: number) => void): void {
  let next = 0;
  client.doc.getMap<unknown>(BENCH_MAP).observe((event) => {
    if (!event.keysChanged.has(KEY)) return;
    const now = absoluteNow();
    const stamp = readStamp(client);
    if (stamp === null || stamp[0] < next) return;
    const delivered = stamp[0] + 1 - next;
    next = stamp[0] + 1;
    onArrival(delivered, stamp[0], now - stamp[1], now);
  });
}
