/**
 * What every command gets: the API client (from --url/--token or ANNOSYNC_URL/ANNOSYNC_TOKEN),
 * whether to answer in JSON, and where to write. Commands write results to `out` and human notes
 * to `note` (stderr), so `--json` output on stdout stays one parseable document.
 */
import { createApi, DEFAULT_RETRIES, type Api } from './http.ts';
import { UsageError } from './errors.ts';

export const DEFAULT_URL = 'http://127.0.0.1:1234';

export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export interface Io {
  env: Record<string, string | undefined>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Context {
  api: Api;
  json: boolean;
  io: Io;
  /** A result line on stdout (human mode). */
  out(text: string): void;
  /** A note on stderr. */
  note(text: string): void;
  /** The result as one JSON document on stdout (--json). */
  emit(value: unknown): void;
}

export function contextOf(opts: GlobalOptions, io: Io): Context {
  const url = opts.url ?? io.env.ANNOSYNC_URL ?? DEFAULT_URL;
  const token = opts.token ?? io.env.ANNOSYNC_TOKEN;
  if (!token) throw new UsageError('no token: set ANNOSYNC_TOKEN or pass --token');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`the server URL '${url}' is not an http(s) URL`);
  }
  const retriesText = io.env.ANNOSYNC_RETRIES ?? String(DEFAULT_RETRIES);
  const retries = Number(retriesText);
  if (!/^\d+$/.test(retriesText.trim()) || retries > 10) throw new UsageError(`ANNOSYNC_RETRIES must be a whole number from 0 to 10, got '${retriesText}'`);
  return {
    api: createApi({ url, token, retries }),
    json: opts.json ?? false,
    io,
    out: (text) => void io.stdout.write(`${text}\n`),
    note: (text) => void io.stderr.write(`${text}\n`),
    emit: (value) => void io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}
