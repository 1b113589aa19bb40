/**
 * The "overlap" zip bomb of D. Fifield, "A better zip bomb" (WOOT 2019,
 * https://www.bamsoftware.com/hacks/zipbomb/), built in memory for the safety tests and the
 * event-loop bench: one local header and one deflate stream, and many central-directory entries,
 * each with its own name, all pointing at that one record. Every entry declares its true sizes
 * and CRC, so nothing but the layout gives it away.
 *
 *   const bomb = overlapBomb({ entries: 1000, inflatedBytes: 16 * 1024 * 1024, name: (k) => `labels/f${k}.txt` })
 */
import { deflateSync, strToU8 } from 'fflate';
import { crc32 } from '../docs-model/formats/crc32.ts';

export interface OverlapBombOptions {
  /** Central-directory entries, all pointing at the one record. */
  entries: number;
  /** Zeros in the one deflate stream. */
  inflatedBytes: number;
  /** Entry k's name; the local header carries entry 0's. */
  name: (k: number) => string;
}

const le = (fields: Array<[2 | 4, number]>): Uint8Array => {
  const out = new Uint8Array(fields.reduce((n, [w]) => n + w, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [w, v] of fields) {
    if (w === 2) view.setUint16(at, v, true);
    else view.setUint32(at, v >>> 0, true);
    at += w;
  }
  return out;
};

/**
 * The deflated zeros and their CRC, by size: made once per process. Deflating 16 MiB in JavaScript
 * blocks the caller for seconds on a loaded machine, long enough for a test's pooled keep-alive
 * socket to be closed by the server under its next request (fetch failed, once in a CI run).
 */
const streams = new Map<number, { deflated: Uint8Array; crc: number }>();

function zerosStream(inflatedBytes: number): { deflated: Uint8Array; crc: number } {
  let stream = streams.get(inflatedBytes);
  if (!stream) {
    const zeros = new Uint8Array(inflatedBytes);
    streams.set(inflatedBytes, (stream = { deflated: deflateSync(zeros, { level: 9 }), crc: crc32(zeros) }));
  }
  return stream;
}

export function overlapBomb({ entries, inflatedBytes, name }: OverlapBombOptions): Uint8Array {
  const { deflated, crc } = zerosStream(inflatedBytes);
  const sizes: Array<[4, number]> = [[4, crc], [4, deflated.length], [4, inflatedBytes]];
  const first = strToU8(name(0));
  const parts: Uint8Array[] = [le([[4, 0x04034b50], [2, 20], [2, 0x0800], [2, 8], [2, 0], [2, 0], ...sizes, [2, first.length], [2, 0]]), first, deflated];
  const cdOffset = parts.reduce((n, p) => n + p.length, 0);
  let cdSize = 0;
  for (let k = 0; k < entries; k++) {
    const n = strToU8(name(k));
    const header = le([[4, 0x02014b50], [2, 20], [2, 20], [2, 0x0800], [2, 8], [2, 0], [2, 0], ...sizes, [2, n.length], [2, 0], [2, 0], [2, 0], [2, 0], [4, 0], [4, 0]]);
    parts.push(header, n);
    cdSize += header.length + n.length;
  }
  parts.push(le([[4, 0x06054b50], [2, 0], [2, 0], [2, entries], [2, entries], [4, cdSize], [4, cdOffset], [2, 0]]));
  return Buffer.concat(parts);
}
