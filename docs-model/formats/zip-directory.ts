/**
 * Reading a zip's central directory from untrusted bytes, ZIP64 included: an
 * `allFrames` export of a one-hour video has more than 65 535 entries, so our own server writes
 * ZIP64 end records (server/zip-writer.ts) and our own importer must read them back.
 *
 * Every number read here is a claim: offsets are checked against the file before they are
 * followed, 64-bit values past Number.MAX_SAFE_INTEGER are refused rather than rounded, and the
 * entry count meets `maxEntries` before one entry is parsed. Sizes are kept only to find an
 * entry's bytes; the inflater counts what it really produces (safe-zip.ts). Pure: DataView only.
 *
 *   const { entries } = readCentralDirectory(bytes, 200_000) // name, method, flags, where the data is
 */
import { InputTooLargeError, problem, UnsafeInputError } from './problems.ts';

export interface CentralEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  localOffset: number;
  /** The CRC-32 of the inflated bytes, as the archive declares it. */
  crc: number;
  /** From the Unix mode in the external attributes: refused by the caller, never followed. */
  symlink: boolean;
  /** Where the name's bytes are in the archive, so a local header's name can be compared byte for byte. */
  nameAt: number;
  nameLength: number;
}

export interface CentralDirectory {
  entries: CentralEntry[];
  /** Where the central directory starts: no entry's bytes may reach into it. */
  offset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const ZIP64_EXTRA = 0x0001;
const U16 = 0xffff;
const U32 = 0xffffffff;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

const invalid = (message: string, place = ''): UnsafeInputError => new UnsafeInputError([problem('zip_invalid', message, place)]);

/** A little-endian u64 that must fit a JS number exactly (no archive we accept is 8 PiB). */
const u64 = (view: DataView, at: number, what: string, place = ''): number => {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} is past ${Number.MAX_SAFE_INTEGER}`, place);
  return Number(v);
};

/** The last end-of-central-directory signature within the 64 KiB a comment may take, or -1. */
const findEocd = (view: DataView): number => {
  for (let p = view.byteLength - 22; p >= Math.max(0, view.byteLength - 22 - U16); p--) {
    if (view.getUint32(p, true) === EOCD) return p;
  }
  return -1;
};

interface DirectoryEnd {
  count: number;
  cdOffset: number;
}

/**
 * Where the central directory is and how many entries it claims. The 16/32-bit EOCD fields hold
 * 0xFFFF/0xFFFFFFFF when the real values are in the ZIP64 record (APPNOTE 4.4.1.4). With no
 * ZIP64 locator such a field is taken as it is: 65 535 entries is a legal plain-zip count, and a
 * wrong offset is refused below when it leads nowhere.
 */
const readEnd = (view: DataView, eocd: number): DirectoryEnd => {
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  const sentinel = count === U16 || view.getUint16(eocd + 8, true) === U16 || cdSize === U32 || cdOffset === U32;
  const locator = eocd - 20;
  if (!sentinel || locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) return { count, cdOffset };
  if (view.getUint32(locator + 4, true) !== 0 || view.getUint32(locator + 16, true) > 1) {
    throw invalid('split (multi-disk) zip archives are not accepted');
  }
  const record = u64(view, locator + 8, 'the ZIP64 end record offset');
  // The record is 56 bytes and lies before its locator; anything else points outside the archive.
  if (record + 56 > locator || view.getUint32(record, true) !== ZIP64_EOCD) {
    throw invalid('the ZIP64 locator does not point at a ZIP64 end record');
  }
  return { count: u64(view, record + 32, 'the ZIP64 entry count'), cdOffset: u64(view, record + 48, 'the ZIP64 central directory offset') };
};

/**
 * The ZIP64 extended information extra field (id 0x0001) holds, in this order, the uncompressed
 * size, the compressed size and the local header offset — only those whose 32-bit field is
 * 0xFFFFFFFF (APPNOTE 4.5.3). Without the field, the 32-bit values stand (and are checked later).
 */
const zip64Fields = (view: DataView, from: number, to: number, sizes: { size: number; compressed: number; offset: number }, place: string): void => {
  for (let q = from; q + 4 <= to; ) {
    const id = view.getUint16(q, true);
    const len = view.getUint16(q + 2, true);
    const end = q + 4 + len;
    if (end > to) throw invalid('an extra field runs past its entry', place);
    if (id === ZIP64_EXTRA) {
      let at = q + 4;
      const next = (what: string): number => {
        if (at + 8 > end) throw invalid(`the ZIP64 extra field lacks the ${what}`, place);
        const v = u64(view, at, `the ZIP64 ${what}`, place);
        at += 8;
        return v;
      };
      if (sizes.size === U32) sizes.size = next('uncompressed size');
      if (sizes.compressed === U32) sizes.compressed = next('compressed size');
      if (sizes.offset === U32) sizes.offset = next('local header offset');
      return;
    }
    q = end;
  }
};

/** Every central directory entry, refused as a whole when any number in it leads outside the file. */
export const readCentralDirectory = (bytes: Uint8Array, maxEntries: number): CentralDirectory => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEocd(view);
  if (eocd < 0) throw invalid('not a zip archive (no end of central directory)');
  const { count, cdOffset } = readEnd(view, eocd);
  // Before any per-entry work: a ZIP64 count can claim 2^53 entries in a 100-byte file.
  if (count > maxEntries) {
    throw new InputTooLargeError('zip_too_many_entries', `more than ${maxEntries} zip entries`, '', maxEntries, 'entries');
  }
  if (cdOffset + count * 46 > bytes.length) throw invalid(`the central directory cannot hold ${count} entries`);
  const decoder = new TextDecoder('utf-8');
  const out: CentralEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    const place = `entry ${k}`;
    if (p + 46 > bytes.length || view.getUint32(p, true) !== CENTRAL) throw invalid('corrupt central directory', place);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const nameEnd = p + 46 + nameLen;
    if (nameEnd + extraLen + commentLen > bytes.length) throw invalid('corrupt central directory', place);
    const name = decoder.decode(bytes.subarray(p + 46, nameEnd));
    const sizes = { size: view.getUint32(p + 24, true), compressed: view.getUint32(p + 20, true), offset: view.getUint32(p + 42, true) };
    if (sizes.size === U32 || sizes.compressed === U32 || sizes.offset === U32) zip64Fields(view, nameEnd, nameEnd + extraLen, sizes, name);
    // Checked for every entry, wanted or not: a lying offset makes the whole archive suspect.
    if (sizes.offset + 30 > bytes.length) throw invalid('the local header offset lies outside the archive', name);
    out.push({
      name,
      method: view.getUint16(p + 10, true),
      flags: view.getUint16(p + 8, true),
      compressedSize: sizes.compressed,
      localOffset: sizes.offset,
      crc: view.getUint32(p + 16, true),
      symlink: ((view.getUint32(p + 38, true) >>> 16) & S_IFMT) === S_IFLNK,
      nameAt: p + 46,
      nameLength: nameLen,
    });
    p = nameEnd + extraLen + commentLen;
  }
  return { entries: out, offset: cdOffset };
};
