import { suite } from 'uvu';
import { crc32 } from '../../docs-model/formats/crc32.ts';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { deflateSync, strFromU8, strToU8, zipSync, type Zippable } from 'fflate';
import { InputTooLargeError, UnsafeInputError } from '../../docs-model/formats/problems.ts';
import { readZip } from '../../docs-model/formats/safe-zip.ts';
import { zipChunksNative } from '../../server/http/zip-writer.ts';
import { seedFromEnv } from '../helpers/format-sessions.ts';
import { thrown } from '../helpers/zips.ts';

const codes = (e: unknown): string[] => (e instanceof UnsafeInputError ? e.problems.map((p) => p.code) : [String(e)]);

/** Little-endian bytes, enough to write zip records by hand. */
class Bytes {
  readonly out: number[] = [];
  get length(): number {
    return this.out.length;
  }
  u16(v: number): this {
    this.out.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: bigint): this {
    return this.u32(Number(v & 0xffffffffn)).u32(Number(v >> 32n));
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.out.push(x);
    return this;
  }
}

interface Zip64Lies {
  /** The ZIP64 end record's entry count. */
  count?: bigint;
  /** Where the locator says the ZIP64 end record is. */
  recordAt?: (real: number) => bigint;
  /** The local header offset in entry k's ZIP64 extra field. */
  offsetOf?: (k: number, real: number) => bigint;
  /** The compressed size in entry k's ZIP64 extra field. */
  compressedOf?: (k: number, real: number) => bigint;
  /** The ZIP64 extra field's data length (24: all three values). */
  extraLength?: number;
}

/**
 * A ZIP64 archive as a 4 GiB-capable writer lays it out: every 32-bit size and offset is
 * 0xFFFFFFFF and the real values sit in each entry's ZIP64 extra field (uncompressed size,
 * compressed size, offset, in that order), and the end record's fields point at the ZIP64 end
 * record through its locator. Entries are deflated, so the two sizes differ and their order shows.
 */
const handZip64 = (files: [string, string][], lies: Zip64Lies = {}): Uint8Array => {
  const b = new Bytes();
  const placed = files.map(([name, text]) => {
    const data = strToU8(text);
    const packed = deflateSync(data);
    const nameBytes = strToU8(name);
    const offset = b.length;
    const crc = crc32(data);
    b.u32(0x04034b50).u16(20).u16(0x0800).u16(8).u16(0).u16(0).u32(crc).u32(packed.length).u32(data.length).u16(nameBytes.length).u16(0).raw(nameBytes).raw(packed);
    return { nameBytes, size: data.length, compressed: packed.length, offset, crc };
  });
  const cdOffset = b.length;
  placed.forEach((e, k) => {
    const extraLength = lies.extraLength ?? 24;
    b.u32(0x02014b50).u16(45).u16(45).u16(0x0800).u16(8).u16(0).u16(0).u32(e.crc);
    b.u32(0xffffffff).u32(0xffffffff).u16(e.nameBytes.length).u16(4 + extraLength).u16(0).u16(0).u16(0).u32(0).u32(0xffffffff);
    b.raw(e.nameBytes).u16(0x0001).u16(extraLength);
    const values = [BigInt(e.size), lies.compressedOf?.(k, e.compressed) ?? BigInt(e.compressed), lies.offsetOf?.(k, e.offset) ?? BigInt(e.offset)];
    for (const v of values.slice(0, extraLength / 8)) b.u64(v);
  });
  const cdSize = b.length - cdOffset;
  const record = b.length;
  const count = lies.count ?? BigInt(files.length);
  b.u32(0x06064b50).u64(44n).u16(45).u16(45).u32(0).u32(0).u64(count).u64(count).u64(BigInt(cdSize)).u64(BigInt(cdOffset));
  b.u32(0x07064b50).u32(0).u64(lies.recordAt?.(record) ?? BigInt(record)).u32(1);
  b.u32(0x06054b50).u16(0).u16(0).u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff).u16(0);
  return Uint8Array.from(b.out);
};

const FILES: [string, string][] = [
  ['labels/frame_000000.txt', '0 0.5 0.5 0.1 0.1\n'.repeat(40)],
  ['labels/frame_000001.txt', '1 0.25 0.25 0.2 0.2\n'],
  ['classes.txt', 'car\nperson\n'],
];

const concat = (chunks: Iterable<Uint8Array>): Uint8Array => Buffer.concat([...chunks]);
const frameName = (k: number): string => `labels/frame_${String(k).padStart(6, '0')}.txt`;
const frameText = (k: number): string => `0 0.5 0.5 0.1 0.1\n${k % 7} 0.${k} 0.25 0.1 0.1\n`;

const read = suite('zip64: archives past 65 535 entries read back');

read('a 70 000-entry export from the server writer reads back every entry', () => {
  const bytes = concat(zipChunksNative((function* () {
    for (let k = 0; k < 70_000; k++) yield { name: frameName(k), data: [frameText(k)] };
  })()));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.is(view.getUint16(bytes.length - 22 + 10, true), 0xffff, 'the end record defers to ZIP64');
  const files = readZip(bytes);
  assert.is(files.size, 70_000);
  for (let k = 0; k < 70_000; k++) {
    const got = files.get(frameName(k));
    if (!got || strFromU8(got) !== frameText(k)) assert.unreachable(`entry ${k} differs`);
  }
});

read('sizes and offsets come from the ZIP64 extra field, in its order', () => {
  const files = readZip(handZip64(FILES));
  assert.equal([...files].map(([n, d]) => [n, strFromU8(d)]), FILES);
});

read('exactly 65 535 entries without ZIP64 records (older writers) are taken at face value', () => {
  const many: Zippable = {};
  for (let k = 0; k < 0xffff; k++) many[`f${k}.txt`] = strToU8(String(k));
  const bytes = zipSync(many, { level: 0 });
  const files = readZip(bytes, { want: (n) => n === 'f65534.txt' });
  assert.is(strFromU8(files.get('f65534.txt')!), '65534');
});

const refuse = suite('zip64: lies are refused as problems, never crashes');

refuse('a ZIP64 entry count over maxEntries is refused with the limit, before any entry is read', () => {
  const small = thrown(() => readZip(handZip64(FILES, { count: 5n }), { maxEntries: 4 }));
  assert.instance(small, InputTooLargeError);
  assert.is((small as InputTooLargeError).code, 'zip_too_many_entries');
  // 2^40 entries in a few hundred bytes: refused by count alone, nothing allocated per entry.
  const huge = thrown(() => readZip(handZip64(FILES, { count: 2n ** 40n })));
  assert.is((huge as InputTooLargeError).code, 'zip_too_many_entries');
  assert.is((huge as InputTooLargeError).status, 413);
});

refuse('a ZIP64 count within the limit but larger than the directory is refused', () => {
  assert.equal(codes(thrown(() => readZip(handZip64(FILES, { count: 1000n })))), ['zip_invalid']);
});

refuse('counts and offsets past Number.MAX_SAFE_INTEGER are refused, not rounded', () => {
  assert.equal(codes(thrown(() => readZip(handZip64(FILES, { count: 2n ** 60n })))), ['zip_invalid']);
  assert.equal(codes(thrown(() => readZip(handZip64(FILES, { recordAt: () => 2n ** 64n - 1n })))), ['zip_invalid']);
  assert.equal(codes(thrown(() => readZip(handZip64(FILES, { offsetOf: () => 2n ** 63n })))), ['zip_invalid']);
});

refuse('a ZIP64 locator pointing past the end, or at no ZIP64 record, is refused', () => {
  const past = thrown(() => readZip(handZip64(FILES, { recordAt: (real) => BigInt(real) + 10_000n })));
  assert.instance(past, UnsafeInputError);
  assert.equal(codes(past), ['zip_invalid']);
  assert.equal(codes(thrown(() => readZip(handZip64(FILES, { recordAt: (real) => BigInt(real) + 4n })))), ['zip_invalid']);
  assert.equal(codes(thrown(() => readZip(handZip64(FILES, { recordAt: () => 0n })))), ['zip_invalid']);
});

refuse('a 4 GiB local header offset in the ZIP64 extra field that lies is refused, wanted or not', () => {
  const lying = handZip64(FILES, { offsetOf: (k, real) => (k === 1 ? 2n ** 32n + BigInt(real) : BigInt(real)) });
  const e = thrown(() => readZip(lying));
  assert.equal(codes(e), ['zip_invalid']);
  assert.is((e as UnsafeInputError).problems[0]!.place, 'labels/frame_000001.txt');
  assert.equal(codes(thrown(() => readZip(lying, { want: () => false }))), ['zip_invalid']);
});

refuse('a ZIP64 compressed size past the end of the file is refused, not truncated', () => {
  const lying = handZip64(FILES, { compressedOf: (k, real) => (k === 2 ? 2n ** 32n + BigInt(real) : BigInt(real)) });
  assert.equal(codes(thrown(() => readZip(lying))), ['zip_invalid']);
});

refuse('a ZIP64 extra field too short for the values it must hold is refused', () => {
  assert.equal(codes(thrown(() => readZip(handZip64(FILES, { extraLength: 16 })))), ['zip_invalid']);
});

refuse('any byte of the ZIP64 directory and end records, changed, gives entries or a problem', () => {
  const good = handZip64(FILES);
  const cdStart = good.length - 22 - 20 - 56 - FILES.reduce((n, [name]) => n + 46 + strToU8(name).length + 28, 0);
  const seed = seedFromEnv('zip64 mutations');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: cdStart, max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
      const bytes = good.slice();
      for (const [at, v] of edits) bytes[at] = v;
      try {
        readZip(bytes, { maxEntries: 1000 });
      } catch (e) {
        if (!(e instanceof UnsafeInputError || e instanceof InputTooLargeError)) throw e;
      }
    }),
    { seed, numRuns: 3000 },
  );
});

read.run();
refuse.run();
