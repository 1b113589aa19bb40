/**
 * Small helpers of the zip and converter tests.
 *
 *   const bytes = rawZip([['a.txt', 'x'], ['a.txt', 'y']]) // duplicates allowed
 *   const err = thrown(() => readZip(bytes))
 */
import { strToU8, Zip, ZipPassThrough } from 'fflate';

/** Entries written one by one, so names fflate's object form cannot hold (a duplicate) get in. */
export function rawZip(entries: [string, string][]): Uint8Array {
  const parts: Uint8Array[] = [];
  const z = new Zip((err, chunk) => {
    if (err) throw err;
    parts.push(chunk);
  });
  for (const [name, data] of entries) {
    const f = new ZipPassThrough(name);
    z.add(f);
    f.push(strToU8(data), true);
  }
  z.end();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What `fn` throws; fails when it returns. */
export const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
};
