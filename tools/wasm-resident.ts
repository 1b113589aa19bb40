/**
 * The resident bytes of a process's WebAssembly memories, from /proc/PID/smaps (Linux): each
 * is a read-write mapping of at least PGlite's initial 128 MiB followed by V8's guard region
 * (gigabytes reserved, no access). Its resident pages are what its statements touched, and they
 * stay so (WebAssembly memory never shrinks). In a process with one PGlite, that is PGlite's.
 *
 *   wasmResident()            // this process
 *   wasmResident(server.pid)  // a server's (bench/rest.ts)
 */
import { readFileSync } from 'node:fs';

const kB = (block: string, field: string): number =>
  Number(
    block
      .split('\n')
      .find((line) => line.startsWith(`${field}:`))
      ?.split(/\s+/)[1] ?? 0,
  );

export function wasmResident(pid: number | 'self' = 'self'): number {
  const blocks = readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  let total = 0;
  blocks.forEach((block, i) => {
    const next = blocks[i + 1] ?? '';
    const guarded = / ---p /.test(next.split('\n')[0] ?? '') && kB(next, 'Size') >= 4_194_304;
    if (/^\S+ rw-p /.test(block) && kB(block, 'Size') >= 131_072 && guarded) total += kB(block, 'Rss') * 1024;
  });
  return total;
}
