/**
 * Streaming zip output with fflate's synchronous `Zip` (browser-safe): entries go in one at a
 * time and the compressed bytes come out as they are produced, so an export of 9 000 frames
 * holds one frame's text at a time.
 *
 *   for (const chunk of zipChunks([{ name: 'a.txt', data: ['hello'] }])) res.write(chunk)
 */
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';

export interface ZipEntryInput {
  name: string;
  /** The entry's content, in pieces; strings are written as UTF-8. */
  data: Iterable<string | Uint8Array>;
  /** Store without compression (already-compressed or tiny content). */
  store?: boolean;
}

const encoder = new TextEncoder();
// Fixed so that the same content gives the same bytes (fflate defaults to "now").
const MTIME = new Date('2020-01-01T00:00:00Z');

// Level 1 by default: label text still shrinks ~5×, and a 9 000-frame export must take seconds, not minutes.
export function* zipChunks(entries: Iterable<ZipEntryInput>, level: 0 | 1 | 6 | 9 = 1): Generator<Uint8Array> {
  const out: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else out.push(chunk);
  });
  const drain = function* (): Generator<Uint8Array> {
    if (failure) throw failure;
    while (out.length) yield out.shift()!;
  };
  for (const entry of entries) {
    const file = entry.store || level === 0 ? new ZipPassThrough(entry.name) : new ZipDeflate(entry.name, { level });
    file.mtime = MTIME;
    zip.add(file);
    for (const piece of entry.data) {
      file.push(typeof piece === 'string' ? encoder.encode(piece) : piece, false);
      yield* drain();
    }
    file.push(new Uint8Array(0), true);
    yield* drain();
  }
  zip.end();
  yield* drain();
}

/** Concatenates chunks (tests and small outputs only: this is what streaming avoids). */
export const collect = (chunks: Iterable<Uint8Array | string>): Uint8Array => {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const c of chunks) {
    const b = typeof c === 'string' ? encoder.encode(c) : c;
    parts.push(b);
    size += b.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
