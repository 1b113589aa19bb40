/**
 * The sync scenarios (joins, edits, fan-out, idle memory), each run against one server with the same stock clients.
 * Every scenario warms up before it measures, every loop is bounded, and every wait is on an
 * event (a sync, an update, a counter) with a timeout.
 *
 *   const r = await fanOut(server, { room, clients: 50, updates: 300, warmup: 30 });
 *   r.p99Ms; r.serverCpuMs / r.deliveries;
 *
 * Clients run in this process and share the machine's 2 cores with the server, so every result
 * also carries the CPU the bench process used (clientCpuMs) to show when the clients saturate.
 */
import * as Y from 'yjs';
import {
  closeClient,
  createCounter,
  nextSynced,
  openClient,
  waitForDoc,
  waitSynced,
} from './clients.ts';
import type { Client } from './clients.ts';
import { addAnnotations, annotationCount } from './session-fixture.ts';
import { listenOverflows } from './listen-overflows.ts';
import { ensureRoom } from './annosync-rooms.ts';
import { readCpuMs, readMachineBusyMs } from './server-process.ts';
import type { BenchServer } from './server-process.ts';
import { percentile } from './stats.ts';
import { settle } from './settle.ts';
import { sendStamp as send, watchStamps } from './stamps.ts';
import { startReceivers } from './fanout-worker.ts';
import type { ReceiverPool } from './fanout-worker.ts';

export interface CpuWindow {
  serverCpuMs: number;
  /** The bench process (and fan-out worker processes, if any). */
  clientCpuMs: number;
  /** Every other process on the machine: high means the numbers were disturbed. */
  otherCpuMs: number;
  elapsedMs: number;
}

/** Measures server CPU (from /proc), bench-process CPU and wall time around `body`. */
async function measured<T>(server: BenchServer, body: () => Promise<T>): Promise<T & CpuWindow> {
  const server0 = readCpuMs(server.pid);
  const machine0 = readMachineBusyMs();
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await body();
  const elapsedMs = performance.now() - t0;
  const client = process.cpuUsage(client0);
  const serverCpuMs = readCpuMs(server.pid) - server0;
  const clientCpuMs = (client.user + client.system) / 1000;
  const otherCpuMs = Math.max(0, readMachineBusyMs() - machine0 - serverCpuMs - clientCpuMs);
  return { ...result, serverCpuMs, clientCpuMs, otherCpuMs, elapsedMs };
}

export async function openSynced(server: BenchServer, rooms: readonly string[], docs?: readonly Y.Doc[]): Promise<Client[]> {
  const clients = rooms.map((room, i) => {
    const doc = docs?.[i];
    return openClient(server, room, doc === undefined ? {} : { doc });
  });
  try {
    await Promise.all(clients.map((c) => waitSynced(c)));
  } catch (err) {
    clients.forEach(closeClient);
    throw err;
  }
  return clients;
}

export interface FanOutResult extends CpuWindow {
  clients: number;
  deliveries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * One writer, `clients - 1` receivers on one document; the next update goes when all received.
 * With `processes > 0` the receivers live in that many child processes (see fanout-worker.ts).
 */
export async function fanOut(
  server: BenchServer,
  options: { room: string; clients: number; updates: number; warmup: number; processes: number },
): Promise<FanOutResult> {
  const receiverCount = options.clients - 1;
  const local = options.processes > 0 ? 0 : receiverCount;
  const clients = await openSynced(server, Array.from({ length: 1 + local }, () => options.room));
  let pool: ReceiverPool | null = null;
  try {
    const [writer, ...receivers] = clients;
    if (writer === undefined) throw new Error('fan-out needs a writer');
    const latencies: number[] = [];
    let recording = false;
    let reach: (seq: number) => Promise<void>;
    if (options.processes > 0) {
      const workers = await startReceivers(server, options.room, receiverCount, options.processes);
      pool = workers;
      reach = (seq) => workers.reach(seq - 1);
    } else {
      const arrived = createCounter();
      for (const receiver of receivers) {
        watchStamps(receiver, (delivered, _seq, latencyMs) => {
          if (recording) latencies.push(latencyMs);
          arrived.add(delivered);
        });
      }
      reach = (seq) => arrived.reach(seq * receivers.length, `fan-out ${options.clients} update ${seq}`, 15_000);
    }
    let seq = 0;
    const run = async (updates: number): Promise<void> => {
      for (let i = 0; i < updates; i++) {
        send(writer, seq++);
        await reach(seq);
      }
    };
    await run(options.warmup);
    recording = true;
    const workerCpu0 = pool?.cpuMs() ?? 0;
    const window = await measured(server, async () => {
      await run(options.updates);
      return {};
    });
    if (pool !== null) {
      const workerCpu = pool.cpuMs() - workerCpu0;
      window.clientCpuMs += workerCpu;
      window.otherCpuMs = Math.max(0, window.otherCpuMs - workerCpu);
    }
    if (pool !== null) {
      latencies.push(...(await pool.collect(options.warmup)));
      pool = null;
    }
    return {
      ...window,
      clients: options.clients,
      deliveries: options.updates * receiverCount,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: percentile(latencies, 100),
    };
  } finally {
    pool?.kill();
    clients.forEach(closeClient);
  }
}

export interface ThroughputResult extends CpuWindow {
  deliveries: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * `docs` documents with a writer and a reader each; every writer keeps `window` updates in
 * flight (sends the next when its reader receives one) until `updates` per document arrived.
 */
export async function throughput(
  server: BenchServer,
  options: { roomPrefix: string; docs: number; updates: number; warmup: number; window: number },
): Promise<ThroughputResult> {
  const rooms = Array.from({ length: options.docs }, (_, d) => `${options.roomPrefix}-${d}`);
  const clients = await openSynced(server, [...rooms, ...rooms]);
  try {
    const arrived = createCounter();
    const latencies: number[] = [];
    let recording = false;
    let limit = 0;
    // When each stamp was sent, by sequence number: a message carrying several stamps (a server
    // that merges a turn's updates) gives each its own latency, not only the newest its.
    const pairs = rooms.map((_, d) => {
      const pair = { writer: clients[d] as Client, reader: clients[d + options.docs] as Client, sent: 0, received: 0, sentAt: [] as number[] };
      return pair;
    });
    const pump = (pair: (typeof pairs)[number]): void => {
      while (pair.sent < limit && pair.sent - pair.received < options.window) pair.sentAt[pair.sent] = send(pair.writer, pair.sent++);
    };
    for (const pair of pairs) {
      watchStamps(pair.reader, (delivered, seq, _latencyMs, arrivedAt) => {
        pair.received += delivered;
        if (recording) for (let s = seq + 1 - delivered; s <= seq; s++) latencies.push(arrivedAt - pair.sentAt[s]!);
        arrived.add(delivered);
        pump(pair);
      });
    }
    const phase = async (updates: number): Promise<void> => {
      limit += updates;
      pairs.forEach(pump);
      await arrived.reach(limit * options.docs, 'throughput', 60_000);
    };
    await phase(options.warmup);
    recording = true;
    const window = await measured(server, async () => {
      await phase(options.updates);
      return {};
    });
    const deliveries = options.updates * options.docs;
    return {
      ...window,
      deliveries,
      perSecond: deliveries / (window.elapsedMs / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  } finally {
    clients.forEach(closeClient);
  }
}

/** A session of `annotations` annotations written by one client, which then leaves. */
export async function populateSession(
  server: BenchServer,
  options: { room: string; annotations: number; batch: number },
): Promise<void> {
  const [writer] = await openSynced(server, [options.room]);
  if (writer === undefined) throw new Error('no writer');
  try {
    // Batches keep each update well under any sane message-size limit (10 000 annotations ≈ 4 MB).
    for (let from = 0; from < options.annotations; from += options.batch) {
      const count = Math.min(options.batch, options.annotations - from);
      addAnnotations(writer.doc, { count, seed: from + 1, prefix: 'a', from });
    }
    // The server has everything once a separate client has received it all from the server.
    const [verifier] = await openSynced(server, [options.room]);
    if (verifier === undefined) throw new Error('no verifier');
    try {
      await waitForDoc(verifier.doc, () => annotationCount(verifier.doc) === options.annotations, 'populate', 120_000);
    } finally {
      closeClient(verifier);
    }
  } finally {
    closeClient(writer);
  }
}

export interface JoinResult {
  /** Connect → `synced`. */
  syncedMs: number;
  /** Connect → arrival of the message that made the client synced (before the client applies it). */
  receivedMs: number;
  stateBytes: number;
}

/** A fresh client joins `room` alone; checks it received all `annotations`. */
export async function joinFresh(server: BenchServer, room: string, annotations: number): Promise<JoinResult> {
  let lastAt = 0;
  let lastBytes = 0;
  const t0 = performance.now();
  const client = openClient(server, room, {
    onMessage: (bytes) => {
      lastAt = performance.now();
      lastBytes = bytes;
    },
  });
  try {
    await waitSynced(client, 60_000);
    const syncedMs = performance.now() - t0;
    const count = annotationCount(client.doc);
    if (count !== annotations) throw new Error(`fresh client synced with ${count}/${annotations} annotations`);
    return { syncedMs, receivedMs: lastAt - t0, stateBytes: lastBytes };
  } finally {
    closeClient(client);
  }
}

export interface OpenManyResult extends CpuWindow {
  docs: number;
  /** First connect → every client synced. */
  ms: number;
  /** Connections the kernel dropped meanwhile, its listen queue full (each retried ~1 s later). */
  listenOverflows: number;
}

/**
 * `docs` clients at once, each on a document of its own that nobody holds (created beforehand, not
 * timed): how long until all are synced, i.e. the cost of loading that many documents.
 */
export async function openMany(server: BenchServer, options: { roomPrefix: string; docs: number }): Promise<OpenManyResult> {
  const rooms = Array.from({ length: options.docs }, (_, d) => `${options.roomPrefix}-${d}`);
  for (let i = 0; i < rooms.length; i += 100) await Promise.all(rooms.slice(i, i + 100).map((room) => ensureRoom(server, room)));
  // Creating a session loads its document; the last few hundred were still leaving memory and
  // compacting when the timed opening began (the projection and merge work of their creation,
  // in a CPU profile of the window). The reference keeps nothing to do.
  await settle(server);
  let clients: Client[] = [];
  try {
    const overflowsBefore = listenOverflows();
    const window = await measured(server, async () => {
      clients = await openSynced(server, rooms);
      return {};
    });
    return { ...window, docs: options.docs, ms: window.elapsedMs, listenOverflows: listenOverflows() - overflowsBefore };
  } finally {
    clients.forEach(closeClient);
  }
}

export interface ReconnectResult {
  clients: number;
  docs: number;
  /** Median over the measured rounds, force-close → every client synced again. */
  ms: number;
  samples: number[];
  serverCpuMs: number;
}

export interface ReconnectGroup {
  clients: number;
  /** Every client drops its socket at once and reconnects; resolves when all are synced again. */
  round: () => Promise<{ ms: number; serverCpuMs: number }>;
  close: () => void;
}

/** `docs × perDoc` synced clients, the first of each document bringing its content. */
export async function openReconnectGroup(
  server: BenchServer,
  options: { roomPrefix: string; docs: number; perDoc: number; annotations: number },
): Promise<ReconnectGroup> {
  const rooms: string[] = [];
  const docs: Y.Doc[] = [];
  for (let d = 0; d < options.docs; d++) {
    for (let c = 0; c < options.perDoc; c++) {
      const doc = new Y.Doc();
      if (c === 0) addAnnotations(doc, { count: options.annotations, seed: d + 1, prefix: 'a' });
      rooms.push(`${options.roomPrefix}-${d}`);
      docs.push(doc);
    }
  }
  const clients = await openSynced(server, rooms, docs);
  const close = (): void => clients.forEach(closeClient);
  try {
    await Promise.all(
      clients.map((c) => waitForDoc(c.doc, () => annotationCount(c.doc) === options.annotations, 'reconnect content')),
    );
  } catch (err) {
    close();
    throw err;
  }
  const round = async (): Promise<{ ms: number; serverCpuMs: number }> => {
    const synced = clients.map((c) => nextSynced(c, 60_000));
    const cpu0 = readCpuMs(server.pid);
    const t0 = performance.now();
    for (const c of clients) {
      c.provider.disconnect();
      c.provider.connect();
    }
    await Promise.all(synced);
    return { ms: performance.now() - t0, serverCpuMs: readCpuMs(server.pid) - cpu0 };
  };
  return { clients: clients.length, round, close };
}
