/**
 * Unzipping untrusted archives. The central directory is read by hand so
 * that every name and its external attributes are checked before one byte is inflated: `..`,
 * absolute paths, drive letters, backslashes, NUL, duplicates and symlinks are refused (zip-slip,
 * CVE-2018-1002200 family), all found problems at once. Inflation then counts the bytes it
 * produces as it produces them and stops past the per-entry or total cap: declared sizes are
 * never trusted (zip bombs declare small sizes). Nothing touches a disk. ZIP64 archives (our own
 * `allFrames` exports pass 65 535 entries) are read by zip-directory.ts under the same limits.
 * Entries that share or overlap bytes (the overlap zip bomb) are refused by zip-layout.ts before
 * any inflation.
 *
 *   const files = readZip(bytes, { want: (n) => n.endsWith('.txt') }) // Map name → bytes
 */
import { Inflate, inflateSync } from 'fflate';
import { crc32 } from './crc32.ts';
import { InputTooLargeError, problem, UnsafeInputError, type Problem } from './problems.ts';
import { readCentralDirectory } from './zip-directory.ts';
import { layoutProblems } from './zip-layout.ts';

export interface SafeZipLimits {
  /** Most entries in the central directory (directories included). Default 200 000. */
  maxEntries?: number;
  /** Most inflated bytes of one entry. Default 64 MiB. */
  maxEntryBytes?: number;
  /** Most inflated bytes over all inflated entries. Default 256 MiB. */
  maxTotalBytes?: number;
}

export const SAFE_ZIP_DEFAULTS: Required<SafeZipLimits> = {
  maxEntries: 200_000,
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

export interface ReadZipOptions extends SafeZipLimits {
  /** Entries to inflate (names are checked for all). Default: every file. Images need not be. */
  want?: (name: string) => boolean;
}

const CHUNK = 64 * 1024;
// fflate's streaming Inflate allocates a 32 KiB window and grows it by 128 KiB per block, ~100 µs
// an entry: 6-9 s for the 70 000 one-line frames of an allFrames export. Deflate expands at most
// 1032:1, so an entry of at most SMALL_DEFLATED bytes cannot fill SCRATCH_BYTES: it is inflated in
// one call into a buffer reused for the whole archive, and its true size is counted all the same.
const SMALL_DEFLATED = 1024;
const SCRATCH_BYTES = 2 * 1024 * 1024;

interface Spent {
  total: number;
  cap: number;
}

const bad = (code: string, message: string, name: string): UnsafeInputError =>
  new UnsafeInputError([problem(code, message, name)]);

/** Why this entry name is unsafe, or null. */
export const unsafeEntryName = (name: string): string | null => {
  if (name.includes('\\')) return 'a backslash in an entry name';
  if (name.includes('\0')) return 'a NUL in an entry name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute entry path';
  if (name.split('/').includes('..')) return 'a ".." segment in an entry name';
  return null;
};

/** Adds `added` bytes of `name` (now `size` in all) to what the archive has produced; throws past a cap. */
const charge = (spent: Spent, name: string, entryCap: number, size: number, added: number): void => {
  spent.total += added;
  if (size > entryCap) throw new InputTooLargeError('zip_entry_too_large', `${name} inflates past ${entryCap} bytes`, name, entryCap);
  if (spent.total > spent.cap) throw new InputTooLargeError('zip_too_large', `the archive inflates past ${spent.cap} bytes`, name, spent.cap);
};

const inflateCounted = (data: Uint8Array, name: string, entryCap: number, spent: Spent): Uint8Array => {
  const parts: Uint8Array[] = [];
  let size = 0;
  let done = false;
  const inflater = new Inflate((chunk, final) => {
    size += chunk.length;
    charge(spent, name, entryCap, size, chunk.length);
    parts.push(chunk);
    if (final) done = true;
  });
  for (let off = 0; off < data.length && !done; off += CHUNK) {
    inflater.push(data.subarray(off, Math.min(data.length, off + CHUNK)), off + CHUNK >= data.length);
  }
  if (!done) throw bad('zip_invalid', 'truncated deflate stream', name);
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/** Inflates one entry, small ones through `scratch`; a corrupt stream is a problem, not a crash. */
const inflateEntry = (data: Uint8Array, name: string, entryCap: number, spent: Spent, scratch: () => Uint8Array): Uint8Array => {
  try {
    // Empty data goes the long way: fflate returns the whole output buffer for an empty input.
    if (data.length > 0 && data.length <= SMALL_DEFLATED) {
      const buf = scratch();
      const out = inflateSync(data, { out: buf });
      if (out.length < buf.length) {
        charge(spent, name, entryCap, out.length, out.length);
        return out.slice();
      }
    }
    return inflateCounted(data, name, entryCap, spent);
  } catch (e) {
    if (e instanceof InputTooLargeError || e instanceof UnsafeInputError) throw e;
    throw bad('zip_invalid', `corrupt deflate stream (${e instanceof Error ? e.message : String(e)})`, name);
  }
};

/** Checks every entry, then inflates the wanted ones. Directories are skipped. */
export const readZip = (bytes: Uint8Array, options: ReadZipOptions = {}): Map<string, Uint8Array> => {
  const { maxEntries, maxEntryBytes, maxTotalBytes } = { ...SAFE_ZIP_DEFAULTS, ...options };
  const want = options.want ?? (() => true);
  const directory = readCentralDirectory(bytes, maxEntries);
  const { entries } = directory;
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.symlink) {
      problems.push(problem('zip_symlink', 'symbolic links are refused', e.name));
      continue;
    }
    const why = unsafeEntryName(e.name);
    if (why) problems.push(problem('zip_unsafe_name', `${why} is refused`, e.name));
    const key = e.name.replace(/^(\.\/)+/, '');
    if (seen.has(key)) problems.push(problem('zip_duplicate_name', 'duplicate entry name', e.name));
    seen.add(key);
    if (e.flags & 1) problems.push(problem('zip_encrypted', 'encrypted entries are not accepted', e.name));
    else if (e.method !== 0 && e.method !== 8) problems.push(problem('zip_method', `compression method ${e.method} is not supported`, e.name));
  }
  // Overlapping entries (the overlap zip bomb) are refused here, before anything is inflated.
  for (const p of layoutProblems(bytes, directory)) problems.push(p);
  if (problems.length) throw new UnsafeInputError(problems);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spent: Spent = { total: 0, cap: maxTotalBytes };
  let buf: Uint8Array | null = null;
  const scratch = (): Uint8Array => (buf ??= new Uint8Array(SCRATCH_BYTES));
  const files = new Map<string, Uint8Array>();
  const damaged: Problem[] = [];
  for (const e of entries) {
    if (e.name.endsWith('/') || !want(e.name)) continue;
    const p = e.localOffset;
    if (p + 30 > bytes.length || view.getUint32(p, true) !== 0x04034b50) throw bad('zip_invalid', 'corrupt local header', e.name);
    const start = p + 30 + view.getUint16(p + 26, true) + view.getUint16(p + 28, true);
    // A compressed size (ZIP64 ones included) that runs past the file is a lie, not a short entry.
    if (start + e.compressedSize > bytes.length) throw bad('zip_invalid', 'the entry runs past the end of the archive', e.name);
    const data = bytes.subarray(start, start + e.compressedSize);
    if (e.method === 0) {
      spent.total += data.length;
      if (data.length > maxEntryBytes) throw new InputTooLargeError('zip_entry_too_large', `${e.name} is past ${maxEntryBytes} bytes`, e.name, maxEntryBytes);
      if (spent.total > maxTotalBytes) throw new InputTooLargeError('zip_too_large', `the archive is past ${maxTotalBytes} bytes`, e.name, maxTotalBytes);
      files.set(e.name, data);
    } else files.set(e.name, inflateEntry(data, e.name, maxEntryBytes, spent, scratch));
    // A corrupt archive is refused by name rather than importing damaged labels.
    if (crc32(files.get(e.name)!) !== e.crc) damaged.push(problem('zip_crc_mismatch', 'the entry does not match its CRC-32: the archive is damaged', e.name));
  }
  if (damaged.length) throw new UnsafeInputError(damaged);
  return files;
};

/** True when the bytes start like a zip (local header or empty archive). */
export const looksLikeZip = (bytes: Uint8Array): boolean =>
  bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);

/**
 * Whether readZip refuses `bytes` from the layout alone (overlapping or misnamed records, the
 * overlap zip bomb) before it inflates anything, whatever limits it is given. Cheap: the central
 * directory and one sort. False when unsure (not a zip, a directory it cannot read within the
 * default entry limit): readZip decides those.
 */
export const refusedByLayout = (bytes: Uint8Array): boolean => {
  if (!looksLikeZip(bytes)) return false;
  try {
    return layoutProblems(bytes, readCentralDirectory(bytes, SAFE_ZIP_DEFAULTS.maxEntries)).length > 0;
  } catch {
    return false;
  }
};
