/**
 * Receivers of the fan-out scenario in a child process, so that decoding the same update for
 * 49 stock clients is spread over both cores instead of queueing in the bench process.
 *
 *   const pool = await startReceivers(server, room, 49, 2); // 2 processes, ready and synced
 *   await pool.reach(seq);                                  // every receiver has seen `seq`
 *   const latencies = await pool.collect(fromSeq);          // then closes the receivers
 *
 * Stamps are absolute (performance.timeOrigin + performance.now()); processes on one machine agree
 * on that to a few µs, and a handshake measures the remaining offset and subtracts it.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeClient, openClient, waitSynced, WaitTimeoutError } from './clients.ts';
import type { Client, ServerAddress } from './clients.ts';
import { absoluteNow, watchStamps } from './stamps.ts';
import { readCpuMs } from './server-process.ts';

export interface ReceiverPool {
  reach: (seq: number, timeoutMs?: number) => Promise<void>;
  collect: (fromSeq: number) => Promise<number[]>;
  /** CPU time the receiver processes used so far, in ms. */
  cpuMs: () => number;
  kill: () => void;
}

type ToWorker =
  | { type: 'start'; server: ServerAddress; room: string; count: number }
  | { type: 'ping'; t0: number }
  | { type: 'collect'; fromSeq: number; offsetMs: number };
type FromWorker =
  | { type: 'ready' }
  | { type: 'pong'; t0: number; t1: number }
  | { type: 'seen'; seq: number }
  | { type: 'latencies'; values: number[] }
  | { type: 'error'; message: string };

const workerPath = fileURLToPath(import.meta.url);

export async function startReceivers(server: ServerAddress, room: string, count: number, processes: number): Promise<ReceiverPool> {
  const children: ChildProcess[] = [];
  const seen: number[] = [];
  let waiter: { seq: number; resolve: () => void } | null = null;
  let failure: Error | null = null;
  const inbox = new Map<number, (m: FromWorker) => void>();
  const check = (): void => {
    if (waiter !== null && seen.every((s) => s >= waiter!.seq)) {
      const { resolve } = waiter;
      waiter = null;
      resolve();
    }
  };
  const kill = (): void => children.forEach((c) => c.kill('SIGKILL'));
  for (let w = 0; w < processes; w++) {
    const share = Math.floor(count / processes) + (w < count % processes ? 1 : 0);
    const child = fork(workerPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    seen.push(-1);
    child.on('message', (raw) => {
      const m = raw as FromWorker;
      if (m.type === 'seen') {
        seen[w] = m.seq;
        check();
      } else {
        if (m.type === 'error') failure = new Error(`fan-out worker ${w}: ${m.message}`);
        inbox.get(w)?.(m);
      }
    });
    child.send({ type: 'start', server, room, count: share } satisfies ToWorker);
  }
  const ask = (w: number, message: ToWorker, timeoutMs = 30_000): Promise<FromWorker> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new WaitTimeoutError(`fan-out worker ${w}: no answer to ${message.type}`)), timeoutMs);
      inbox.set(w, (m) => {
        clearTimeout(timer);
        inbox.delete(w);
        if (m.type === 'error') reject(new Error(m.message));
        else resolve(m);
      });
      if (message.type !== 'start') children[w]!.send(message);
    });
  try {
    await Promise.all(children.map((_, w) => ask(w, { type: 'start', server, room, count: 0 }, 60_000)));
  } catch (err) {
    kill();
    throw err;
  }
  // Clock offset per worker from the round trip with the smallest delay (NTP-style).
  const offsets: number[] = [];
  for (let w = 0; w < children.length; w++) {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < 10; i++) {
      const t0 = absoluteNow();
      const m = await ask(w, { type: 'ping', t0 });
      const t2 = absoluteNow();
      if (m.type === 'pong' && t2 - t0 < best.rtt) best = { rtt: t2 - t0, offset: m.t1 - (t0 + t2) / 2 };
    }
    offsets.push(best.offset);
  }
  return {
    reach(seq, timeoutMs = 15_000) {
      if (failure !== null) return Promise.reject(failure);
      if (seen.every((s) => s >= seq)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(failure ?? new WaitTimeoutError(`fan-out: receivers at ${seen.join(',')}, waiting for ${seq}`));
        }, timeoutMs);
        waiter = {
          seq,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    async collect(fromSeq) {
      const all: number[] = [];
      for (let w = 0; w < children.length; w++) {
        const m = await ask(w, { type: 'collect', fromSeq, offsetMs: offsets[w] ?? 0 });
        if (m.type === 'latencies') all.push(...m.values);
      }
      await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
      return all;
    },
    cpuMs: () => children.reduce((sum, c) => sum + (c.pid !== undefined && c.exitCode === null ? readCpuMs(c.pid) : 0), 0),
    kill,
  };
}

/** The child side: open `count` receivers, report progress, hand back latencies. */
async function runWorker(): Promise<void> {
  const reply = (m: FromWorker): void => {
    process.send?.(m);
  };
  let clients: Client[] = [];
  const latencies: { seq: number; ms: number }[] = [];
  const progress: number[] = [];
  let reported = -1;
  process.on('message', (raw) => {
    const m = raw as ToWorker;
    if (m.type === 'ping') {
      reply({ type: 'pong', t0: m.t0, t1: absoluteNow() });
    } else if (m.type === 'start') {
      clients = Array.from({ length: m.count }, () => openClient(m.server, m.room));
      clients.forEach((client, i) => {
        progress.push(-1);
        watchStamps(client, (_delivered, seq, ms) => {
          latencies.push({ seq, ms });
          progress[i] = seq;
          let min = Infinity;
          for (const p of progress) if (p < min) min = p;
          if (min > reported) {
            reported = min;
            reply({ type: 'seen', seq: min });
          }
        });
      });
      Promise.all(clients.map((c) => waitSynced(c))).then(
        () => reply({ type: 'ready' }),
        (err: unknown) => reply({ type: 'error', message: String(err) }),
      );
    } else if (m.type === 'collect') {
      // A positive offset means this clock is ahead of the writer's: arrivals read late by it.
      const values = latencies.filter((l) => l.seq >= m.fromSeq).map((l) => l.ms - m.offsetMs);
      clients.forEach(closeClient);
      reply({ type: 'latencies', values });
      process.disconnect();
      process.exit(0);
    }
  });
  // The bench died or is done: the IPC channel closing is the signal to go.
  process.on('disconnect', () => process.exit(0));
  process.setMaxListeners(0);
}

if (process.send !== undefined && process.argv[1] === workerPath) void runWorker();
