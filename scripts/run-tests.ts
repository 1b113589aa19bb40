/**
 * `npm test`: runs uvu test files in parallel worker processes, one file at a time per worker, the
 * slowest first (by test/durations.json), and prints each file's output whole as it finishes, then
 * one uvu summary (Total / Passed / Skipped / Duration) for all of them.
 *
 *   npm test                                  # every test/**\/*.test.ts
 *   npm test -- test 'formats.*\.test\.ts$'   # uvu's [dir] [pattern]
 *   TEST_WORKERS=1 npm test                   # one worker (default: one per core, at most 4)
 *   npm test -- --write-durations             # re-measure test/durations.json
 *
 * Most test files wait on sockets, child servers and PGlite's thread, so one process leaves a core
 * idle; files never share a database (each opens its own PGlite directory or Postgres schema) nor
 * a port (port 0). Each worker runs files the way uvu's own CLI does (`uvu/run`): its suites are
 * queued, then run by `exec`, whose summary this script adds up instead of printing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'uvu/parse';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const durationsFile = path.join(root, 'test', 'durations.json');

interface FileResult {
  name: string;
  output: string;
  total: number;
  passed: number;
  skipped: number;
  failed: boolean;
  ms: number;
}

type ToWorker = { file: string; name: string } | { done: true };

const usage = `usage: npm test -- [dir] [pattern] [--workers N] [--bail] [--write-durations]

Runs the uvu test files under dir (default test) whose path matches pattern (default \\.test\\.ts$)
in N worker processes (TEST_WORKERS, default one per core, at most 4), slowest first.`;

// ---- worker: runs the files the parent sends, one at a time ----

async function worker(): Promise<void> {
  (globalThis as { UVU_DEFER?: number }).UVU_DEFER = 1;
  const uvu = await import('uvu');
  const queue = () => (globalThis as unknown as { UVU_QUEUE: unknown[][] }).UVU_QUEUE;
  const send = (result: FileResult) => new Promise<void>((resolve) => process.send!(result, () => resolve()));
  process.on('message', async (msg: ToWorker) => {
    if ('done' in msg) {
      process.disconnect();
      // A test that leaves a handle open must not keep the run alive (uvu's CLI ends the same way).
      setImmediate(() => process.exit(0));
      return;
    }
    const started = Date.now();
    queue().length = 0;
    (globalThis as { UVU_INDEX?: number }).UVU_INDEX = 0;
    queue().push([msg.name]);
    let captured = '';
    let counts: Pick<FileResult, 'total' | 'passed' | 'skipped' | 'failed'>;
    try {
      await import(pathToFileURL(msg.file).href);
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string | Uint8Array) => {
        captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
        return true;
      }) as typeof process.stdout.write;
      try {
        await uvu.exec(false);
      } finally {
        process.stdout.write = write;
      }
      const plain = captured.replace(/\x1B\[[0-9;]*[A-Za-z]/g, '');
      const count = (label: string) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(plain)?.[1] ?? 0);
      const [total, passed, skipped] = [count('Total'), count('Passed'), count('Skipped')];
      // uvu reports a suite whose `before` hook threw as (0 / N) without setting the exit code.
      counts = { total, passed, skipped, failed: process.exitCode === 1 || passed + skipped < total };
      const summaryAt = captured.search(/\n\s*Total:/);
      if (summaryAt >= 0) captured = captured.slice(0, summaryAt);
    } catch (err) {
      // The file itself threw (at import, or an after hook): one failure.
      captured += `\n${(err as Error).stack ?? String(err)}\n`;
      counts = { total: 1, passed: 0, skipped: 0, failed: true };
    }
    process.exitCode = 0;
    await send({ name: msg.name, output: captured, ...counts, ms: Date.now() - started });
  });
  process.send!({ ready: true });
}

// ---- parent: hands out files, prints results, sums them up ----

/** How much of a failed file's output is repeated at the end: uvu's diff and stack come last. */
const FAILURE_TAIL_CHARS = 6000;

function tail(text: string, chars: number): string {
  return text.length <= chars ? text : `… (${text.length - chars} characters before)\n${text.slice(-chars)}`;
}

function readDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(durationsFile, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

async function main(argv: string[]): Promise<number> {
  const positional: string[] = [];
  let workers = Number(process.env.TEST_WORKERS) || Math.min(4, availableParallelism());
  let bail = false;
  let writeDurations = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      return 0;
    } else if (arg === '--bail' || arg === '-b') bail = true;
    else if (arg === '--write-durations') writeDurations = true;
    else if (arg === '--workers' && /^\d+$/.test(argv[i + 1] ?? '')) workers = Number(argv[++i]);
    else if (arg.startsWith('-')) {
      console.error(`unknown option ${arg}\n${usage}`);
      return 2;
    } else positional.push(arg);
  }
  const [dir = 'test', pattern = '\\.test\\.ts$'] = positional;
  const { suites } = await parse(dir, pattern, { cwd: root });
  const durations = readDurations();
  // Longest first, so the run does not end waiting on one slow file; unknown files count as slow.
  const pending = [...suites].sort((a, b) => (durations[b.name] ?? 60_000) - (durations[a.name] ?? 60_000));
  const results: FileResult[] = [];
  const started = Date.now();
  const colour = process.env.FORCE_COLOR !== '0';
  let stop = false;

  const runWorker = (): Promise<void> =>
    new Promise((resolve) => {
      let current: (typeof pending)[number] | undefined;
      const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--worker'], {
        cwd: root,
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, FORCE_COLOR: colour ? '1' : '0' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const next = () => {
        current = stop ? undefined : pending.shift();
        child.send(current ? { file: current.file, name: current.name } : { done: true });
      };
      child.on('message', (msg: FileResult | { ready: true }) => {
        if ('ready' in msg) return next();
        results.push(msg);
        process.stdout.write(msg.output.replace(/^\n+/, '') + '\n');
        if (msg.failed && bail) stop = true;
        next();
      });
      child.on('exit', (code, signal) => {
        if (current) {
          // The worker died inside a file (process.exit, an uncaught error): that file failed,
          // and the files still queued go to a new worker.
          const output = `${current.name}: the test process exited (${signal ?? code}) before the file finished`;
          results.push({ name: current.name, output, total: 1, passed: 0, skipped: 0, failed: true, ms: 0 });
          process.stdout.write(`\n${output}\n`);
          resolve(stop || pending.length === 0 ? undefined : runWorker());
        } else resolve();
      });
    });

  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, pending.length)) }, runWorker));

  const sum = (key: 'total' | 'passed' | 'skipped') => results.reduce((n, r) => n + r[key], 0);
  const failures = results.filter((r) => r.failed);
  const failed = failures.length > 0;
  const paint = (code: number, text: string) => (colour ? `\x1B[${code}m${text}\x1B[39m` : text);
  const seconds = ((Date.now() - started) / 1000).toFixed(2);
  // The failed files' output once more, next to the summary: a CI log is often read from its end
  // only, and the files print as they finish, so a failure early in the run is far from the end.
  if (failed) {
    process.stdout.write(paint(31, `\n  Failed: ${failures.map((r) => r.name).join(', ')}\n`));
    for (const r of failures) process.stdout.write(`\n${r.name} (again):\n${tail(r.output, FAILURE_TAIL_CHARS)}\n`);
  }
  process.stdout.write(`\n  Total:     ${sum('total')}`);
  process.stdout.write(paint(failed ? 31 : 32, `\n  Passed:    ${sum('passed')}`));
  process.stdout.write(`\n  Skipped:   ${sum('skipped') ? paint(33, String(sum('skipped'))) : 0}`);
  process.stdout.write(`\n  Duration:  ${seconds}s\n\n`);
  if (writeDurations) {
    const merged: Record<string, number> = { ...durations, ...Object.fromEntries(results.map((r) => [r.name, r.ms])) };
    const slowestFirst = Object.entries(merged).sort(([, a], [, b]) => b - a);
    writeFileSync(durationsFile, JSON.stringify(Object.fromEntries(slowestFirst), null, 2) + '\n');
  }
  return failed ? 1 : 0;
}

if (process.argv.includes('--worker')) await worker();
else process.exitCode = await main(process.argv.slice(2));
