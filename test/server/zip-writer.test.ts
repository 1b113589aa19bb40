import { test } from 'uvu';
import * as assert from 'uvu/assert';
import zlib from 'node:zlib';
import { unzipSync } from 'fflate';
import type { ZipEntryInput } from '../../docs-model/formats/zip-writer.ts';
import { readZip } from '../../docs-model/formats/safe-zip.ts';
import { zipChunksNative } from '../../server/http/zip-writer.ts';

const KiB = 1024;
const concat = (chunks: Iterable<Uint8Array>): Buffer => Buffer.concat([...chunks]);
const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('utf8');

/** Bytes deflate cannot shrink (an LCG's high bytes), the same on every run. */
const noise = (n: number, seed: number): Uint8Array => {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
};

interface Central {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

/** The central directory of a plain (non-ZIP64) archive with no comment, read by hand. */
const centralDirectory = (zip: Buffer): Central[] => {
  const eocd = zip.length - 22;
  assert.is(zip.readUInt32LE(eocd), 0x06054b50);
  const out: Central[] = [];
  let p = zip.readUInt32LE(eocd + 16);
  for (let k = 0; k < zip.readUInt16LE(eocd + 10); k++) {
    const nameLen = zip.readUInt16LE(p + 28);
    out.push({
      name: zip.toString('utf8', p + 46, p + 46 + nameLen),
      method: zip.readUInt16LE(p + 10),
      crc: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      offset: zip.readUInt32LE(p + 42),
    });
    p += 46 + nameLen + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return out;
};

const labels = '0 0.5 0.5 0.1 0.1\n'.repeat(200);
const random = noise(40 * KiB, 7);
const mixed = (): ZipEntryInput[] => [
  { name: 'labels/frame_000000.txt', data: ['0 0.5 0.5 0.1 0.1\n', '1 0.25 ', '0.25 0.2 0.2\n'] },
  { name: 'labels/pieces.txt', data: [new TextEncoder().encode('bytes, '), 'then text, ', new Uint8Array([0x41, 0x42, 0x0a])] },
  { name: 'étiquettes/フレーム_01 🚗.txt', data: ['UTF-8 name\n'] },
  { name: 'empty.txt', data: [] },
  { name: 'stored.txt', data: [labels], store: true },
  { name: 'compressed.txt', data: [labels] },
  { name: 'random.bin', data: [random] },
];
const expected = new Map<string, Uint8Array>(
  mixed().map((e) => [e.name, Buffer.concat([...e.data].map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))))]),
);

test('every kind of entry reads back byte for byte through fflate and through the safe reader', () => {
  const zip = concat(zipChunksNative(mixed()));
  const viaFflate = unzipSync(zip);
  const viaSafe = readZip(zip);
  assert.equal(Object.keys(viaFflate), [...expected.keys()]);
  assert.equal([...viaSafe.keys()], [...expected.keys()]);
  for (const [name, bytes] of expected) {
    assert.equal(Buffer.compare(Buffer.from(viaFflate[name]!), Buffer.from(bytes)), 0, `fflate: ${name}`);
    assert.equal(Buffer.compare(Buffer.from(viaSafe.get(name)!), Buffer.from(bytes)), 0, `readZip: ${name}`);
  }
});

test('incompressible, empty and store entries are stored; text is deflated; CRCs and sizes are the content', () => {
  const zip = concat(zipChunksNative(mixed()));
  const methods = Object.fromEntries(centralDirectory(zip).map((e) => [e.name, e.method]));
  // 21 distinct bytes: deflate's block header and literal codes make them longer, never shorter.
  assert.is(methods['labels/pieces.txt'], 0);
  assert.is(methods['empty.txt'], 0);
  assert.is(methods['stored.txt'], 0);
  assert.is(methods['random.bin'], 0);
  assert.is(methods['compressed.txt'], 8);
  for (const e of centralDirectory(zip)) {
    const content = expected.get(e.name)!;
    assert.is(e.crc, zlib.crc32(content), `crc of ${e.name}`);
    assert.is(e.size, content.length);
    // The local header repeats what the central directory says (no data descriptor).
    assert.is(zip.readUInt32LE(e.offset), 0x04034b50);
    assert.is(zip.readUInt16LE(e.offset + 6) & 0x0800, 0x0800, 'names are flagged UTF-8');
    assert.is(zip.readUInt32LE(e.offset + 14), e.crc);
    assert.is(zip.readUInt32LE(e.offset + 18), e.compressedSize);
    assert.is(zip.readUInt32LE(e.offset + 22), e.size);
  }
  assert.ok(centralDirectory(zip).find((e) => e.name === 'compressed.txt')!.compressedSize < labels.length / 10);
});

test('level 0 stores every entry', () => {
  const zip = concat(zipChunksNative(mixed(), 0));
  assert.ok(centralDirectory(zip).every((e) => e.method === 0));
  assert.is(text(readZip(zip).get('compressed.txt')), labels);
});

test('the same entries give the same bytes, whatever the day', () => {
  const a = concat(zipChunksNative(mixed()));
  const b = concat(zipChunksNative(mixed()));
  assert.ok(a.equals(b));
});

test('a producer may reuse its buffer for the next piece or entry', () => {
  const buf = new Uint8Array(4);
  function* reusing(): Generator<ZipEntryInput> {
    buf.set([1, 2, 3, 4]);
    yield { name: 'a.bin', data: [buf], store: true };
    buf.set([5, 6, 7, 8]);
    yield {
      name: 'b.bin',
      data: (function* () {
        yield buf;
        buf.set([9, 9, 9, 9]);
        yield buf;
      })(),
    };
  }
  const files = unzipSync(concat(zipChunksNative(reusing())));
  assert.equal([...files['a.bin']!], [1, 2, 3, 4]);
  assert.equal([...files['b.bin']!], [5, 6, 7, 8, 9, 9, 9, 9]);
});

test('output comes in chunks of about 64 KiB, never more than 64 KiB plus the largest entry', () => {
  const big = noise(300 * KiB, 11);
  const entries = function* (): Generator<ZipEntryInput> {
    for (let k = 0; k < 3000; k++) yield { name: `labels/frame_${k}.txt`, data: [`${k % 5} 0.5 0.5 0.1 0.${k}\n`.repeat(1 + (k % 30))] };
    yield { name: 'big.bin', data: [big] };
    for (let k = 0; k < 100; k++) yield { name: `tail_${k}.txt`, data: [noise(3 * KiB, k)] };
  };
  const chunks = [...zipChunksNative(entries())];
  assert.ok(chunks.length > 10);
  for (const [k, c] of chunks.entries()) {
    if (k < chunks.length - 1) assert.ok(c.length >= 64 * KiB, `chunk ${k} is ${c.length} bytes`);
    assert.ok(c.length < 64 * KiB + big.length + 64, `chunk ${k} is ${c.length} bytes`);
  }
  assert.is(readZip(concat(chunks)).size, 3101);
});

/** The ZIP64 end record, when the locator right before the end record points at one. */
const zip64Record = (zip: Buffer): { count: bigint; cdSize: bigint; cdOffset: bigint } | null => {
  const eocd = zip.length - 22;
  if (zip.readUInt32LE(eocd - 20) !== 0x07064b50) return null;
  const at = Number(zip.readBigUInt64LE(eocd - 20 + 8));
  assert.is(zip.readUInt32LE(at), 0x06064b50);
  assert.is(at + 56, eocd - 20, 'the record sits right before its locator');
  return { count: zip.readBigUInt64LE(at + 32), cdSize: zip.readBigUInt64LE(at + 40), cdOffset: zip.readBigUInt64LE(at + 48) };
};
const frames = function* (n: number, store = false): Generator<ZipEntryInput> {
  for (let k = 0; k < n; k++) yield { name: `labels/frame_${String(k).padStart(6, '0')}.txt`, data: [`0 0.5 0.5 0.1 0.1\n${k % 9} 0.${k} 0.5 0.1 0.1\n`], store };
};

test('70 000 entries get ZIP64 end records that fflate and the safe reader both follow', () => {
  const zip = concat(zipChunksNative(frames(70_000)));
  const eocd = zip.length - 22;
  assert.is(zip.readUInt16LE(eocd + 10), 0xffff);
  assert.is(zip.readUInt32LE(eocd + 16), 0xffffffff);
  const record = zip64Record(zip);
  assert.ok(record);
  assert.is(record.count, 70_000n);
  assert.is(record.cdOffset + record.cdSize, BigInt(eocd - 20 - 56));
  assert.is(zip.readUInt32LE(Number(record.cdOffset)), 0x02014b50);
  const viaFflate = unzipSync(zip);
  const viaSafe = readZip(zip);
  assert.is(Object.keys(viaFflate).length, 70_000);
  assert.is(viaSafe.size, 70_000);
  for (const { name, data } of frames(70_000)) {
    const want = [...data].join('');
    if (text(viaFflate[name]) !== want || text(viaSafe.get(name)) !== want) assert.unreachable(`${name} differs`);
  }
});

test('up to 65 534 entries there are no ZIP64 records; 65 535 (the EOCD sentinel) needs them', () => {
  const below = concat(zipChunksNative(frames(65_534, true)));
  assert.is(zip64Record(below), null);
  assert.is(below.readUInt16LE(below.length - 22 + 10), 65_534);
  assert.not.ok(below.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])), 'no ZIP64 end record signature anywhere');
  const at = concat(zipChunksNative(frames(65_535, true)));
  assert.is(zip64Record(at)?.count, 65_535n);
  assert.is(readZip(at, { want: () => false }).size, 0);
  assert.is(Object.keys(unzipSync(at, { filter: (f) => f.name.endsWith('065534.txt') })).length, 1);
});

test('an entry past 8 MiB is streamed in sync-flushed pieces with a data descriptor, and reads back whole through fflate and the safe reader', () => {
  // 20 MiB of MOT-like lines in small pieces, plus random bytes across a piece boundary, then a small entry after it.
  const line = (k: number): string => `${(k % 9000) + 1},${k % 100},${(k * 7) % 1800}.5,${(k * 3) % 1000},60,90,1,1,1\n`;
  const pieces: (string | Uint8Array)[] = [];
  let size = 0;
  for (let k = 0; size < 20 * 1024 * KiB; k++) {
    const piece = k === 300_000 ? noise(3 * 1024 * KiB, 3) : line(k);
    pieces.push(piece);
    size += typeof piece === 'string' ? piece.length : piece.length;
  }
  const whole = Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  const zip = concat(zipChunksNative([{ name: 'gt/gt.txt', data: pieces }, { name: 'gt/labels.txt', data: ['person\n'] }]));
  const [big, small] = centralDirectory(zip);
  assert.equal([big!.method, big!.size, big!.crc], [8, whole.length, zlib.crc32(whole)]);
  assert.ok(big!.compressedSize < whole.length);
  assert.is(zip.readUInt16LE(6) & 0x0008, 0x0008, 'the local header defers its sizes to a data descriptor');
  assert.is(zip.readUInt32LE(small!.offset - 16), 0x08074b50, 'the descriptor follows the data');
  assert.equal(Buffer.compare(Buffer.from(unzipSync(zip)['gt/gt.txt']!), whole), 0, 'fflate');
  assert.equal(Buffer.compare(Buffer.from(readZip(zip, { maxEntryBytes: 64 * 1024 * KiB, maxTotalBytes: 64 * 1024 * KiB }).get('gt/gt.txt')!), whole), 0, 'readZip');
  assert.is(text(unzipSync(zip)['gt/labels.txt']), 'person\n');
});

test.run();
