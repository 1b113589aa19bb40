/**
 * Redis fan-out (README "Several processes"): two real servers, A and B, on one fresh Postgres
 * schema and one Redis, with stock y-websocket clients in this process (one clock for every stamp).
 *
 * 1. delivery latency: a writer on A sends stamps at a steady rate; 10 readers on A (same process)
 *    and 10 on B (through Redis) time each arrival: p50 / p99 / max;
 * 2. burst: a writer on A sends N small updates as fast as it can; the rate at which readers on B
 *    (and, for comparison, on A) receive all of them;
 * 3. join: a client joins on B a session that A′ (a third process, COMMIT_INTERVAL_MS=1000) holds
 *    with an edit it has not committed yet: time to `synced` and to seeing the edit, and whether
 *    the database really lacked the edit when it was seen.
 * Also: log rows stored per update (1.00 when each update is stored once, by the process that
 * received it; docs/architecture.md, "More than one process"), and the CPU of each server, of the clients and of the rest of the machine
 * (Postgres, Redis, anything else running: on 2 cores that decides the burst numbers).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 \
 *     npm run bench:fanout [-- --quick]
 *
 * The schema `bench_fanout_<pid>` is created before the servers start (two processes creating it
 * at once race in Postgres) and dropped at the end, as are the child processes, on error too.
 */
import * as Y from 'yjs';
import pg from 'pg';
import { WebSocket } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import { randomBytes } from 'node:crypto';
import { trackDurableAcks, type DurableAcks } from '../docs-model/durable-acks.ts';
import { BENCH_AUTH_SECRET, ensureRoom } from './lib/annosync-rooms.ts';
import { closeClient, connectParams, createCounter, openClient, waitForDoc, waitSynced, WaitTimeoutError } from './lib/clients.ts';
import type { Client, Counter } from './lib/clients.ts';
import { killAllSync, readCpuMs, readMachineBusyMs, removeTempDirs, startServer, stopServer } from './lib/server-process.ts';
import type { BenchServer } from './lib/server-process.ts';
import { BENCH_MAP, sendStamp, watchStamps } from './lib/stamps.ts';
import { storedHas, storedInPlace, storedRows } from './lib/stored-rows.ts';
import { databaseCpuMeter } from './lib/database-cpu.ts';
import { percentile } from './lib/stats.ts';
import { report, type BurstRow, type FanoutPlan, type JoinResult, type LatencyResult, type RowsPerUpdate } from './lib/fanout-report.ts';

const FULL: FanoutPlan = {
  readers: 10,
  latency: { updates: 2000, warmup: 200, perSecond: 200 },
  burst: { updates: 10_000, warmup: 1000, chunk: 100 },
  join: { trials: 20 },
};
const QUICK: FanoutPlan = {
  readers: 10,
  latency: { updates: 400, warmup: 100, perSecond: 200 },
  burst: { updates: 2000, warmup: 500, chunk: 100 },
  join: { trials: 5 },
};
type Plan = FanoutPlan;
const SLOW_COMMIT_MS = 1000;

const quick = process.argv.includes('--quick');
const plan = quick ? QUICK : FULL;
const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const schema = `bench_fanout_${process.pid}`;

function log(message: string): void {
  process.stderr.write(`[bench:fanout] ${message}\n`);
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Every client opened, so that an error half-way still closes them (their timers keep us alive). */
const openClients = new Set<Client>();
function open(server: BenchServer, room: string): Client {
  const client = openClient(server, room);
  openClients.add(client);
  return client;
}
function close(clients: Iterable<Client>): void {
  for (const client of clients) {
    if (openClients.delete(client)) closeClient(client);
  }
}

/**
 * CPU ms over a window: each server (from /proc), this process (the clients), the Postgres
 * backends serving the servers, and everything else on the machine (Postgres for others, Redis,
 * …: high means the 2 cores were the limit, not annosync).
 */
async function cpuMeter(servers: BenchServer[]): Promise<() => Promise<number[]>> {
  const database = db ? await databaseCpuMeter(db, servers.map((s) => s.pid)) : async () => NaN;
  const before = servers.map((s) => readCpuMs(s.pid));
  const machine = readMachineBusyMs();
  const self = process.cpuUsage();
  return async () => {
    const used = process.cpuUsage(self);
    const perProcess = [...servers.map((s, i) => readCpuMs(s.pid) - (before[i] ?? 0)), (used.user + used.system) / 1000];
    const busy = readMachineBusyMs() - machine;
    const databaseMs = await database();
    const other = busy - perProcess.reduce((sum, v) => sum + v, 0) - (Number.isNaN(databaseMs) ? 0 : databaseMs);
    return [...perProcess, databaseMs, Math.max(0, other)];
  };
}

/** The ready line comes before Redis is connected (main.ts does not wait for it). */
async function waitRedisConnected(server: BenchServer): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    const res = await fetch(`http://${server.host}:${server.port}/health`).catch(() => null);
    const body = (await res?.json().catch(() => null)) as { redis?: { connected?: boolean } } | null;
    if (body?.redis?.connected === true) return;
    await delay(50);
  }
  throw new Error(`server on port ${server.port}: Redis not connected after 15 s (is REDIS_URL up?)`);
}

interface Group {
  label: string;
  readers: Client[];
  latencies: number[];
  arrived: Counter;
  /** Stamps a reader never saw alone (coalesced into a later message, or lost). */
  skipped: number;
}

function watchGroup(label: string, readers: Client[], recordFrom: () => number): Group {
  const group: Group = { label, readers, latencies: [], arrived: createCounter(), skipped: 0 };
  for (const reader of readers) {
    watchStamps(reader, (delivered, seq, latencyMs) => {
      if (seq >= recordFrom()) group.latencies.push(latencyMs);
      group.skipped += delivered - 1;
      group.arrived.add(delivered);
    });
  }
  return group;
}

async function openSynced(server: BenchServer, room: string, count: number): Promise<Client[]> {
  const clients = Array.from({ length: count }, () => open(server, room));
  await Promise.all(clients.map((c) => waitSynced(c)));
  return clients;
}

/** Part 1: one writer on A, readers on A and on B, stamps at a fixed rate (open loop). */
async function latency(a: BenchServer, b: BenchServer, p: Plan): Promise<LatencyResult> {
  const room = `session:fanout-${run}-latency`;
  await ensureRoom(a, room);
  await ensureRoom(b, room);
  const [writer] = await openSynced(a, room, 1);
  const onA = await openSynced(a, room, p.readers);
  const onB = await openSynced(b, room, p.readers);
  try {
    const { updates, warmup, perSecond } = p.latency;
    const groups = [watchGroup('A (same process)', onA, () => warmup), watchGroup('B (via Redis)', onB, () => warmup)];
    let seq = 0;
    // Each stamp is due at a fixed time; a late one goes at once, without a catch-up burst after it.
    const paced = async (count: number): Promise<void> => {
      const period = 1000 / perSecond;
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        await delay(Math.max(0, t0 + i * period - performance.now()));
        sendStamp(writer!, seq++);
      }
    };
    const allArrived = (what: string) => Promise.all(groups.map((g) => g.arrived.reach(seq * g.readers.length, `${what} ${g.label}`, 30_000)));
    await paced(warmup);
    await allArrived('latency warm-up');
    const cpu = await cpuMeter([a, b]);
    const t0 = performance.now();
    await paced(updates);
    const sentMs = performance.now() - t0;
    await allArrived('latency');
    const used = await cpu();
    return {
      room,
      sent: seq,
      rows: groups.map((g) => ({
        readersOn: g.label,
        p50Ms: percentile(g.latencies, 50),
        p99Ms: percentile(g.latencies, 99),
        maxMs: percentile(g.latencies, 100),
        deliveries: g.latencies.length,
        skipped: g.skipped,
      })),
      cpuPerUpdateMs: used.map((ms) => ms / updates),
      achievedPerSecond: updates / (sentMs / 1000),
    };
  } finally {
    close([writer!, ...onA, ...onB]);
  }
}

/** Part 2: a writer on A sends `updates` stamps in chunks (yielding between, so readers run too). */
async function burst(a: BenchServer, b: BenchServer, target: BenchServer, label: string, p: Plan): Promise<BurstRow> {
  const room = `session:fanout-${run}-burst-${target === a ? 'a' : 'b'}`;
  await ensureRoom(a, room);
  await ensureRoom(b, room);
  const [writer] = await openSynced(a, room, 1);
  const readers = await openSynced(target, room, p.readers);
  try {
    const { updates, warmup, chunk } = p.burst;
    const group = watchGroup(label, readers, () => Infinity);
    let seq = 0;
    const send = async (count: number): Promise<void> => {
      for (let sent = 0; sent < count; sent += chunk) {
        for (let i = 0; i < Math.min(chunk, count - sent); i++) sendStamp(writer!, seq++);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    await send(warmup);
    await group.arrived.reach(seq * readers.length, `burst warm-up ${label}`, 60_000);
    const cpu = await cpuMeter([a, b]);
    const t0 = performance.now();
    await send(updates);
    const sendMs = performance.now() - t0;
    await group.arrived.reach(seq * readers.length, `burst ${label}`, 120_000);
    const lastMs = performance.now() - t0;
    return { room, sent: seq, readersOn: label, updates, sendMs, lastMs, receivedPerSecond: updates / (lastMs / 1000), cpuMs: await cpu() };
  } finally {
    close([writer!, ...readers]);
  }
}

/** A client with durable acks (README "Knowing that an edit is stored"). */
function openWithAcks(server: BenchServer, room: string): { client: Client; acks: DurableAcks } {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(server.serverUrl, room, doc, {
    params: { ...connectParams(server), acks: '1' },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  // Before the socket opens: the server acknowledges the connection's first step 2 as well.
  const acks = trackDurableAcks(provider as unknown as Parameters<typeof trackDurableAcks>[0]);
  const client = { doc, provider };
  openClients.add(client);
  return { client, acks };
}

/**
 * Part 3, per trial a fresh session (B must not hold it yet): a writer on A′ makes one edit, an
 * observer on A′ confirms A′ has it, then a client joins on B; afterwards the writer waits for
 * its durable ack, so the next trial's edit starts a fresh commit interval on A′.
 */
async function join(slow: BenchServer, b: BenchServer, db: pg.Client, trials: number): Promise<JoinResult> {
  const rooms = Array.from({ length: trials + 1 }, (_, i) => `session:fanout-${run}-join-${i}`);
  // Concurrent creates on A′ share one group commit instead of waiting a commit interval each.
  await Promise.all(rooms.map((room) => ensureRoom(slow, room)));
  for (const room of rooms) await ensureRoom(b, room);
  const result: JoinResult = { trials, syncedMs: [], seenMs: [], seenAfterSynced: 0, uncommittedWhenSeen: 0 };
  for (const [i, room] of rooms.entries()) {
    const { client: writer, acks } = openWithAcks(slow, room);
    const [observer] = await openSynced(slow, room, 1);
    const trial: Client[] = [writer, observer!];
    try {
      await waitSynced(writer);
      const saved = new Promise<void>((resolve) => acks.on('saved', () => resolve()));
      const token = `${room}-${randomBytes(4).toString('hex')}`;
      const hasProbe = (c: Client) => () => c.doc.getMap(BENCH_MAP).get('probe') === token;
      writer.doc.getMap(BENCH_MAP).set('probe', token);
      await waitForDoc(observer!.doc, hasProbe(observer!), 'A′ observer sees the edit', 10_000);
      const t0 = performance.now();
      const joiner = open(b, room);
      trial.push(joiner);
      let syncedAt = Infinity;
      const synced = waitSynced(joiner, 10_000).then(() => (syncedAt = performance.now() - t0));
      await waitForDoc(joiner.doc, hasProbe(joiner), 'the joiner on B sees the uncommitted edit', 10_000);
      const seenAt = performance.now() - t0;
      const committed = await storedHas(db, room, token);
      await synced;
      if (i > 0) {
        // Trial 0 warms up B's load path and this process's JIT.
        result.syncedMs.push(syncedAt);
        result.seenMs.push(seenAt);
        if (seenAt > syncedAt) result.seenAfterSynced++;
        if (!committed) result.uncommittedWhenSeen++;
      }
      await withTimeout(saved, 10 * SLOW_COMMIT_MS, 'durable ack of the edit on A′');
    } finally {
      acks.destroy();
      close(trial);
    }
  }
  return result;
}

const SERVER_ENV: Record<string, string> = {
  AUTH_SECRET: BENCH_AUTH_SECRET,
  LOG_LEVEL: 'warn',
  DATABASE_SCHEMA: schema,
  // Every bench client is one user, and a burst writer sends thousands of messages a second.
  MAX_CONNECTIONS_PER_USER: '100000',
  MESSAGES_PER_SECOND: '1000000',
  MESSAGE_BURST: '1000000',
};

let db: pg.Client | null = null;
const servers: BenchServer[] = [];

async function dropSchema(): Promise<void> {
  if (db === null) return;
  const client = db;
  db = null;
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

async function stopServers(): Promise<void> {
  close([...openClients]);
  await Promise.all(servers.map((s) => stopServer(s)));
  servers.length = 0;
  removeTempDirs();
}

async function cleanUp(): Promise<void> {
  await stopServers();
  await dropSchema();
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!databaseUrl?.startsWith('postgres') || !redisUrl) {
    throw new Error('bench:fanout needs DATABASE_URL=postgres://… and REDIS_URL=redis://…');
  }
  const started = performance.now();
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(`create schema "${schema}"`);
  // yjs_updates and yjs_snapshots are found through search_path, as the servers find them.
  await db.query(`set search_path to "${schema}"`);
  const env = { ...SERVER_ENV, REDIS_URL: redisUrl };
  const start = async (name: string, extra: Record<string, string> = {}): Promise<BenchServer> => {
    const server = await startServer({ kind: 'annosync', databaseUrl, env: { ...env, ...extra } });
    servers.push(server);
    await waitRedisConnected(server);
    log(`${name}: pid ${server.pid}, port ${server.port}`);
    return server;
  };
  // One after the other: the first runs the migrations on the fresh schema.
  const a = await start('A');
  const b = await start('B');

  log('1. delivery latency');
  const latencyResult = await latency(a, b, plan);
  log('2. burst');
  const bursts = [
    await burst(a, b, a, 'A (same process)', plan),
    await burst(a, b, b, 'B (via Redis)', plan),
  ];
  log('3. join on B');
  const slow = await start('A′', { COMMIT_INTERVAL_MS: String(SLOW_COMMIT_MS) });
  const joined = await join(slow, b, db, plan.join.trials);

  const storesInPlace = await Promise.all(servers.map((server) => storedInPlace(server)));
  await stopServers();
  const stored: RowsPerUpdate = new Map();
  // The session's first row (its meta, written when it was created on A) is not a stamp.
  for (const { room, sent } of [latencyResult, ...bursts]) stored.set(room, ((await storedRows(db, room)) - 1) / sent);
  report({ run, schema, quick, plan, slowCommitMs: SLOW_COMMIT_MS }, latencyResult, bursts, joined, stored, storesInPlace, (performance.now() - started) / 1000);
}

// Every WebsocketProvider adds a process 'exit' listener.
process.setMaxListeners(0);
process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllSync();
    void dropSchema()
      .catch(() => undefined)
      .finally(() => process.exit(130));
  });
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
} finally {
  await cleanUp().catch((err: unknown) => {
    failed = true;
    console.error('clean-up failed:', err);
  });
}
process.exit(failed ? 1 : 0);
