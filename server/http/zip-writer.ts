/**
 * The server's zip writer for exports: the same entries the pure converters describe
 * (`ZipEntryInput` from docs-model/formats), compressed by node:zlib instead of fflate.
 *
 * Why not fflate here: a 9 000-frame VOC export is 9 000 entries and ~370 MB of XML. fflate builds
 * a JavaScript compressor per entry (hash tables and window allocated each time) and spent 4.3 of
 * 7.2 s compressing, and the garbage pushed RSS past 200 MB. zlib's native deflate and crc32
 * (Node ≥ 20.15) do the same work outside the JS heap. docs-model keeps fflate: it must run in a
 * browser.
 *
 * Each entry is usually one frame's text, so it is deflated whole (no data descriptor): the local
 * header carries the real sizes and CRC, which every reader handles. An entry that would not shrink
 * is stored. An entry past STREAM_AFTER bytes (MOT's one gt.txt of 40 MB for 900 000 boxes) is
 * streamed instead of held: deflated 1 MiB at a time, each piece sync-flushed so the pieces form
 * one raw deflate stream (as pigz joins its blocks), the CRC carried from piece to piece, and the
 * sizes in a data descriptor after the data (APPNOTE 4.3.9, general purpose bit 3). Output is batched into ~64 KiB chunks. ZIP64 records are written only when needed
 * (65 535 entries or more, as `allFrames` of a one-hour video gives, or offsets past 4 GiB), so
 * small exports stay readable by the oldest tools.
 *
 *   for (const chunk of zipChunksNative(exportEntries)) res.write(chunk)
 */
import zlib from 'node:zlib';
import type { ZipEntryInput } from '../../docs-model/formats/zip-writer.ts';

const CHUNK_BYTES = 64 * 1024;
const U16 = 0xffff;
const U32 = 0xffffffff;
// 2020-01-01 00:00 in MS-DOS time, fixed so the same content gives the same bytes.
const DOS_TIME = 0;
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1;
const UTF8_NAMES = 0x0800;

/** Entries longer than this are streamed; shorter ones are deflated whole. */
const STREAM_AFTER = 8 * 1024 * 1024;
const STREAM_PIECE = 1024 * 1024;
const DATA_DESCRIPTOR = 0x0008;

interface Written {
  name: Buffer;
  /** General purpose flags: UTF-8 names, and the data descriptor bit for a streamed entry. */
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

/**
 * One growing buffer that every entry's text is encoded into, reused from entry to entry: a
 * 9 000-frame VOC export is 370 MB of text, and a Buffer per entry left that much garbage outside
 * the JS heap for the collector to notice late (YOLO peak RSS 160–198 MB, now 124–127). Byte
 * pieces are copied too, so a producer may refill its buffer for the next piece.
 */
class EntryScratch {
  private buf = Buffer.allocUnsafe(256 * 1024);

  /** The entry's bytes, valid until the next call. */
  encode(data: Iterable<string | Uint8Array>): Buffer {
    return this.fill(data[Symbol.iterator](), Infinity).bytes;
  }

  /** The next pieces of `pieces`, until at least `limit` bytes or the end; valid until the next call. */
  fill(pieces: Iterator<string | Uint8Array>, limit: number): { bytes: Buffer; done: boolean } {
    let at = 0;
    for (;;) {
      if (at >= limit) return { bytes: this.buf.subarray(0, at), done: false };
      const next = pieces.next();
      if (next.done) return { bytes: this.buf.subarray(0, at), done: true };
      const piece = next.value;
      const need = typeof piece === 'string' ? Buffer.byteLength(piece, 'utf8') : piece.byteLength;
      if (at + need > this.buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, at + need));
        this.buf.copy(grown, 0, 0, at);
        this.buf = grown;
      }
      if (typeof piece === 'string') this.buf.write(piece, at, 'utf8');
      else this.buf.set(piece, at);
      at += need;
    }
  }
}

function localHeader(e: Written): Buffer {
  const h = Buffer.alloc(30 + e.name.length);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
  h.writeUInt16LE(e.flags, 6);
  h.writeUInt16LE(e.method, 8);
  h.writeUInt16LE(DOS_TIME, 10);
  h.writeUInt16LE(DOS_DATE, 12);
  h.writeUInt32LE(e.crc, 14);
  h.writeUInt32LE(e.compressedSize, 18);
  h.writeUInt32LE(e.size, 22);
  h.writeUInt16LE(e.name.length, 26);
  h.writeUInt16LE(0, 28);
  e.name.copy(h, 30);
  return h;
}

function centralRecord(e: Written): Buffer {
  // Only the offset can pass 4 GiB (one entry is one frame's text, checked below).
  const far = e.offset >= U32;
  const extra = far ? 12 : 0;
  const r = Buffer.alloc(46 + e.name.length + extra);
  r.writeUInt32LE(0x02014b50, 0);
  r.writeUInt16LE(far ? 45 : 20, 4); // version made by
  r.writeUInt16LE(far ? 45 : 20, 6); // version needed (4.5: ZIP64)
  r.writeUInt16LE(e.flags, 8);
  r.writeUInt16LE(e.method, 10);
  r.writeUInt16LE(DOS_TIME, 12);
  r.writeUInt16LE(DOS_DATE, 14);
  r.writeUInt32LE(e.crc, 16);
  r.writeUInt32LE(e.compressedSize, 20);
  r.writeUInt32LE(e.size, 24);
  r.writeUInt16LE(e.name.length, 28);
  r.writeUInt16LE(extra, 30);
  // comment length, disk, internal and external attributes stay 0
  r.writeUInt32LE(far ? U32 : e.offset, 42);
  e.name.copy(r, 46);
  if (far) {
    r.writeUInt16LE(0x0001, 46 + e.name.length); // ZIP64 extended information
    r.writeUInt16LE(8, 48 + e.name.length);
    r.writeBigUInt64LE(BigInt(e.offset), 50 + e.name.length);
  }
  return r;
}

function endRecords(count: number, cdOffset: number, cdSize: number): Buffer {
  // 0xFFFF / 0xFFFFFFFF in the end record mean "see the ZIP64 record" (APPNOTE 4.4.1.4), so a
  // count of exactly 65 535 needs one too, as the offset and size already did.
  const zip64 = count >= U16 || cdOffset >= U32 || cdSize >= U32;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? U16 : count, 8);
  end.writeUInt16LE(zip64 ? U16 : count, 10);
  end.writeUInt32LE(zip64 ? U32 : cdSize, 12);
  end.writeUInt32LE(zip64 ? U32 : cdOffset, 16);
  if (!zip64) return end;
  const record = Buffer.alloc(56 + 20);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4); // size of the rest of the record
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(cdSize), 40);
  record.writeBigUInt64LE(BigInt(cdOffset), 48);
  // the locator: where the ZIP64 end record starts, one disk
  record.writeUInt32LE(0x07064b50, 56);
  record.writeBigUInt64LE(BigInt(cdOffset + cdSize), 64);
  record.writeUInt32LE(1, 72);
  return Buffer.concat([record, end]);
}

/**
 * A zip of `entries`, as chunks of about `chunkBytes` (64 KiB by default); level 1 by default
 * (label text still shrinks ~10×).
 */
export function* zipChunksNative(entries: Iterable<ZipEntryInput>, level = 1, chunkBytes = CHUNK_BYTES): Generator<Buffer> {
  const written: Written[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = 0;
  const push = (b: Buffer): Buffer | null => {
    pending.push(b);
    pendingBytes += b.length;
    offset += b.length;
    if (pendingBytes < chunkBytes) return null;
    const out = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  const scratch = new EntryScratch();
  for (const entry of entries) {
    const pieces = entry.data[Symbol.iterator]();
    const first = scratch.fill(pieces, entry.store || level === 0 ? Infinity : STREAM_AFTER);
    if (!first.done) {
      yield* streamEntry(entry.name, first.bytes, pieces, scratch, level, offset, written, push);
      continue;
    }
    const data = first.bytes;
    if (data.length >= U32) throw new RangeError(`zip entry '${entry.name}' is over 4 GiB`);
    // The output buffer is sized to the expected output (zlib's default is 16 KiB per call), but
    // never under 4 KiB: smaller ones come from Buffer's shared 8 KiB pool, whose slabs outlived
    // the slices and lifted a 9 000-entry YOLO export's peak RSS from 165 to 205 MB.
    const chunkSize = Math.max(4096, Math.min(64 * 1024, data.length >> 2));
    const deflated = entry.store || level === 0 ? null : zlib.deflateRawSync(data, { level, chunkSize, windowBits: 13, memLevel: 7 });
    const stored = !deflated || deflated.length >= data.length;
    const packed = stored ? Buffer.from(data) : deflated; // `data` is the scratch: copy what is kept
    const e: Written = {
      name: Buffer.from(entry.name, 'utf8'),
      flags: UTF8_NAMES,
      method: stored ? 0 : 8,
      crc: zlib.crc32(data),
      compressedSize: packed.length,
      size: data.length,
      offset,
    };
    written.push(e);
    const a = push(localHeader(e));
    if (a) yield a;
    const b = push(packed);
    if (b) yield b;
  }
  const cdOffset = offset;
  for (const e of written) {
    const out = push(centralRecord(e));
    if (out) yield out;
  }
  const last = push(endRecords(written.length, cdOffset, offset - cdOffset));
  yield last ?? Buffer.concat(pending, pendingBytes);
}

/** One long entry deflated piece by piece (see the header comment); pushes through `push`, which counts the offset. */
function* streamEntry(
  name: string,
  head: Buffer,
  pieces: Iterator<string | Uint8Array>,
  scratch: EntryScratch,
  level: number,
  offset: number,
  written: Written[],
  push: (b: Buffer) => Buffer | null,
): Generator<Buffer> {
  const e: Written = { name: Buffer.from(name, 'utf8'), flags: UTF8_NAMES | DATA_DESCRIPTOR, method: 8, crc: 0, compressedSize: 0, size: 0, offset };
  const out = (b: Buffer): Buffer | null => push(b);
  let chunk = out(localHeader(e));
  if (chunk) yield chunk;
  const deflate = (data: Buffer, last: boolean): Buffer =>
    zlib.deflateRawSync(data, { level, windowBits: 13, memLevel: 7, finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH });
  let data = head;
  let done = false;
  for (;;) {
    if (data.length > 0) {
      e.crc = zlib.crc32(data, e.crc);
      e.size += data.length;
      const packed = deflate(data, false);
      e.compressedSize += packed.length;
      chunk = out(packed);
      if (chunk) yield chunk;
    }
    if (done) break;
    ({ bytes: data, done } = scratch.fill(pieces, STREAM_PIECE));
  }
  // An empty final block ends the stream the sync-flushed pieces began.
  const end = deflate(Buffer.alloc(0), true);
  e.compressedSize += end.length;
  if (e.size >= U32 || e.compressedSize >= U32) throw new RangeError(`zip entry '${name}' is over 4 GiB`);
  chunk = out(end);
  if (chunk) yield chunk;
  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(e.crc, 4);
  descriptor.writeUInt32LE(e.compressedSize, 8);
  descriptor.writeUInt32LE(e.size, 12);
  written.push(e);
  chunk = out(descriptor);
  if (chunk) yield chunk;
}
