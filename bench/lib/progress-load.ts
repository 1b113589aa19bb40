/**
 * The progress load of bench/test-runs.ts: runners posting test-run progress at a fixed rate over
 * raw keep-alive connections, from worker processes so the clients' own CPU does not cap the rate
 * on a small machine. Each worker reports its send times and latencies over IPC.
 *
 *   const workers = startLoadWorkers({ base, token, ids, durationS, postsPerSecond, runnerSockets }, 4)
 *   await Promise.all(workers.map((w) => w.ready)); workers.forEach((w) => w.child.send('go'))
 *   const results = await Promise.all(workers.map((w) => w.result))
 */
import net from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Milliseconds on a clock every process of this machine shares (the load workers report send times on it). */
export const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadJob {
  base: string;
  token: string;
  ids: string[];
  durationS: number;
  postsPerSecond: number;
  /** Connections one runner keeps to the server. */
  runnerSockets: number;
}

export interface LoadResult {
  lat: number[];
  /** From the request's write to its answer: without the wait for a free connection. */
  wire: number[];
  errors: number;
  done: number;
  /** Per run, the wall-clock time the post of processedFrames = index + 1 was due; null when it failed. */
  sent: Record<string, Array<number | null>>;
  /** The same, when it was written to a connection (a runner with too few connections waits in between). */
  written: Record<string, Array<number | null>>;
}

/**
 * One keep-alive HTTP/1.1 connection, one request at a time (as an HTTP agent's socket), read with
 * a minimal parser: Node's HTTP client costs about as much CPU per request as the server does here,
 * so with it the load processes, not the server, ran out of this machine's cores.
 */
class RawConnection {
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve(status: number): void; reject(err: Error): void } | null = null;
  readonly ready: Promise<void>;

  constructor(url: URL) {
    this.socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Sends one request (bytes as written on the wire); resolves with the response status. */
  send(request: Buffer): Promise<number> {
    if (this.pending) throw new Error('one request at a time');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buffer.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return this.fail(new Error(`a response without Content-Length: ${head.slice(0, 200)}`));
    const total = headEnd + 4 + Number(length[1]);
    if (this.buffer.length < total) return;
    this.buffer = this.buffer.subarray(total);
    const p = this.pending;
    this.pending = null;
    p?.resolve(Number(head.slice(9, 12)));
  }
}

/** A runner's connections: a post takes an idle one or waits for one. */
class RunnerPool {
  private readonly idle: RawConnection[] = [];
  private readonly waiting: Array<(c: RawConnection) => void> = [];
  private readonly all: RawConnection[];

  constructor(url: URL, size: number) {
    this.all = Array.from({ length: size }, () => new RawConnection(url));
    this.idle.push(...this.all);
  }

  ready(): Promise<unknown> {
    return Promise.all(this.all.map((c) => c.ready));
  }

  /**
   * Resolves with the status, when the request was written (wall clock) and how long it was on
   * its connection: the server's share, without the runner's wait for a free connection.
   */
  async send(request: Buffer): Promise<{ status: number; writtenAt: number; wireMs: number }> {
    const c = this.idle.pop() ?? (await new Promise<RawConnection>((resolve) => this.waiting.push(resolve)));
    const writtenAt = wallNow();
    const start = performance.now();
    try {
      const status = await c.send(request);
      return { status, writtenAt, wireMs: performance.now() - start };
    } finally {
      const next = this.waiting.shift();
      if (next) next(c);
      else this.idle.push(c);
    }
  }

  close(): void {
    for (const c of this.all) c.close();
  }
}

function progressRequest(url: URL, token: string, id: string, frames: number): Buffer {
  const body = JSON.stringify({ processedFrames: frames, totalFrames: 1_000_000 });
  return Buffer.from(
    `POST /api/test-runs/${id}/progress HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Posts progress for `job.ids`, each at `postsPerSecond`, for `durationS`, from when `go` resolves
 * (after every worker connected, so no worker's start-up eats into another's window).
 */
async function postLoad(job: LoadJob, go: (ready: Promise<unknown>) => Promise<void>): Promise<LoadResult> {
  const { ids } = job;
  const lat: number[] = [];
  const wire: number[] = [];
  let errors = 0;
  let done = 0;
  const sent: Record<string, Array<number | null>> = {};
  const written: Record<string, Array<number | null>> = {};
  const url = new URL(job.base);
  const pools = ids.map(() => new RunnerPool(url, job.runnerSockets));
  await go(Promise.all(pools.map((pool) => pool.ready())));
  const end = performance.now() + job.durationS * 1000;
  await Promise.all(
    ids.map(async (id, i) => {
      let n = 0;
      const times: Array<number | null> = (sent[id] = []);
      const writes: Array<number | null> = (written[id] = []);
      const pool = pools[i]!;
      const inflight = new Set<Promise<void>>();
      const interval = 1000 / job.postsPerSecond;
      let next = performance.now();
      while (performance.now() < end) {
        const now = performance.now();
        if (now < next) {
          await sleep(Math.max(0, next - now));
          continue;
        }
        next += interval;
        const frames = ++n;
        const start = performance.now();
        times.push(Math.round(wallNow() * 100) / 100);
        const p = pool.send(progressRequest(url, job.token, id, frames)).then(
          ({ status, writtenAt, wireMs }) => {
            if (status !== 200) {
              errors++;
              times[frames - 1] = null;
              writes[frames - 1] = null;
            } else {
              lat.push(performance.now() - start);
              wire.push(wireMs);
              writes[frames - 1] = Math.round(writtenAt * 100) / 100;
            }
            done++;
          },
          () => {
            errors++;
            times[frames - 1] = null;
            writes[frames - 1] = null;
          },
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size > 64) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      pool.close();
    }),
  );
  return { lat, wire, errors, done, sent, written };
}


const workerPath = fileURLToPath(import.meta.url);

/** Forks `processes` workers, the runs dealt round-robin; each says `ready`, posts on `go`, then sends its result. */
export function startLoadWorkers(job: LoadJob, processes: number): Array<{ child: ChildProcess; ready: Promise<void>; result: Promise<LoadResult> }> {
  return Array.from({ length: processes }, (_, w) => {
    const mine = job.ids.filter((_, i) => i % processes === w);
    const child = fork(workerPath, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, LOAD_WORKER: JSON.stringify({ ...job, ids: mine }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<void>((resolve) => child.once('message', () => resolve()));
    const result = new Promise<LoadResult>((resolve, reject) => {
      child.on('message', (m: unknown) => {
        if (typeof m === 'object' && m !== null) resolve(m as LoadResult);
      });
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`load worker exited ${code}`))));
    });
    return { child, ready, result };
  });
}

async function runWorker(): Promise<void> {
  const job = JSON.parse(process.env.LOAD_WORKER ?? '{}') as LoadJob;
  const send = (m: unknown): Promise<void> => new Promise((resolve, reject) => process.send!(m, (err: Error | null) => (err ? reject(err) : resolve())));
  const result = await postLoad(job, async (ready) => {
    await ready;
    const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
    await send('ready');
    await go;
  });
  await send(result);
  process.disconnect();
}

if (process.send !== undefined && process.argv[1] === workerPath && process.env.LOAD_WORKER) void runWorker();
