/**
 * Jobs answered by one long-lived worker thread, in order: the thread starts with the first job,
 * ends after `idleMs` without one (IDLE_WORKER_MS: its heap keeps what its last job left), and one
 * that dies fails the jobs it held and is replaced with the next. The import parser and the
 * evaluation scorer (server/services/) run their work so; what a job sends and how its answer
 * arrives is theirs.
 *
 *   const jobs = new ThreadJobs<Result>({ name: 'evaluation', start: () => startBundledThread(…), closed: () => new ClosedError(…) },
 *     (reply: Reply) => reply.ok ? jobs.resolve(reply.id, reply.value) : jobs.reject(reply.id, rebuilt(reply.error)))
 *   const result = await jobs.run((worker, id) => worker.postMessage({ id, … }))
 *   jobs.state(id)      // the state a job was given (an import gathers its batches there)
 *   await jobs.close()  // fails what is pending with `closed()`, ends the thread
 */
import type { Worker } from 'node:worker_threads';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { IDLE_WORKER_MS, IdleWorkerEnd } from './worker-thread.ts';

interface Job<T, S> {
  state: S;
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

export interface ThreadJobsOptions {
  /** What the thread does, for the log: "the <name> thread failed". */
  name: string;
  start: () => Worker;
  /** The error of a job asked for after close, or pending at close. */
  closed: () => Error;
  logger?: Logger;
  idleMs?: number;
}

export class ThreadJobs<T, S = undefined> {
  private readonly pending = new Map<number, Job<T, S>>();
  private nextId = 1;
  private worker: Worker | null = null;
  private closing: Promise<void> | null = null;
  private started = 0;
  private readonly idle: IdleWorkerEnd;
  private readonly opts: ThreadJobsOptions;
  private readonly onMessage: (message: never, worker: Worker) => void;

  /** `onMessage` reads the thread's messages and settles jobs with `resolve` and `reject`. */
  constructor(opts: ThreadJobsOptions, onMessage: (message: never, worker: Worker) => void) {
    this.opts = opts;
    this.onMessage = onMessage;
    this.idle = new IdleWorkerEnd(opts.idleMs ?? IDLE_WORKER_MS, () => {
      if (this.pending.size > 0 || !this.worker) return null;
      const ending = this.worker;
      this.worker = null;
      return ending;
    });
  }

  /** Runs a job: `send` posts it to the thread under `id`; settled by `resolve` or `reject`. */
  run(send: (worker: Worker, id: number) => void, state?: S): Promise<T> {
    if (this.closing) return Promise.reject(this.opts.closed());
    this.idle.busy();
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    const done = new Promise<T>((resolve, reject) => this.pending.set(id, { state: state as S, resolve, reject }));
    worker.ref();
    try {
      send(worker, id);
    } catch (err) {
      // A message that cannot be sent (a value structured clone refuses): the job fails, and is
      // not left pending to keep the thread, and the process, alive.
      this.reject(id, err instanceof Error ? err : new Error(String(err)));
    }
    return done;
  }

  /** The state job `id` was run with; undefined once it is settled. */
  state(id: number): S | undefined {
    return this.pending.get(id)?.state;
  }

  resolve(id: number, value: T): void {
    this.settled(id)?.resolve(value);
  }

  reject(id: number, err: Error): void {
    this.settled(id)?.reject(err);
  }

  /** Counters for tests: threads started so far, and ended once idle. */
  stats(): { workersStarted: number; workersEnded: number } {
    return { workersStarted: this.started, workersEnded: this.idle.ended };
  }

  /** Fails pending jobs and stops the thread. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.idle.stop();
      this.failAll(this.opts.closed());
      const last = this.worker;
      this.worker = null;
      if (last) await last.terminate();
    })());
  }

  private settled(id: number): Job<T, S> | undefined {
    const job = this.pending.get(id);
    if (!job) return undefined;
    this.pending.delete(id);
    // An idle thread must not keep the process alive, nor its heap for long.
    if (this.pending.size === 0 && this.worker) {
      this.worker.unref();
      this.idle.idle();
    }
    return job;
  }

  private failAll(err: Error): void {
    for (const job of this.pending.values()) job.reject(err);
    this.pending.clear();
  }

  private start(): Worker {
    const fresh = this.opts.start();
    this.started++;
    fresh.on('message', (message: unknown) => this.onMessage(message as never, fresh));
    const lost = (err: Error): void => {
      if (this.worker !== fresh) return;
      this.worker = null;
      (this.opts.logger ?? silentLogger).error({ err }, `the ${this.opts.name} thread failed; the next job starts a fresh one`);
      this.failAll(new Error(`the ${this.opts.name} thread failed: ${err.message}`, { cause: err }));
    };
    fresh.on('error', lost);
    fresh.on('exit', (code) => lost(new Error(`exited with code ${code}`)));
    return fresh;
  }
}
