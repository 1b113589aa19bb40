import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { InputTooLargeError, UnsafeInputError } from '../../docs-model/formats/problems.ts';
import { parseSafeJson } from '../../docs-model/formats/safe-json.ts';
import { checkXml, parseSafeXml } from '../../docs-model/formats/safe-xml.ts';
import { readZip, refusedByLayout, SAFE_ZIP_DEFAULTS } from '../../docs-model/formats/safe-zip.ts';
import { crc32 } from '../../docs-model/formats/crc32.ts';
import { parseYolo } from '../../docs-model/formats/yolo-import.ts';
import { rawZip, thrown } from '../helpers/zips.ts';
import { overlapBomb } from '../../tools/zip-bombs.ts';

const codes = (e: unknown): string[] => (e instanceof UnsafeInputError ? e.problems.map((p) => p.code) : [String(e)]);

const zip = suite('safe zip');

zip('traversal, absolute paths, backslashes and duplicates are all refused at once, by name', () => {
  const e = thrown(() => readZip(rawZip([['../evil.txt', 'x'], ['/etc/passwd', 'x'], ['a\\b.txt', 'x'], ['C:/x.txt', 'x'], ['ok.txt', '1'], ['ok.txt', '2'], ['x/../../y', 'x']])));
  assert.instance(e, UnsafeInputError);
  assert.equal(codes(e), ['zip_unsafe_name', 'zip_unsafe_name', 'zip_unsafe_name', 'zip_unsafe_name', 'zip_duplicate_name', 'zip_unsafe_name']);
});

zip('symlinks are refused from their external attributes', () => {
  const files: Zippable = { 'link.txt': [strToU8('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }], 'ok.txt': strToU8('fine') };
  const e = thrown(() => readZip(zipSync(files)));
  assert.equal(codes(e), ['zip_symlink']);
  assert.is((e as UnsafeInputError).problems[0]!.place, 'link.txt');
});

zip('a zip bomb stops while inflating, past the per-entry and the total caps, whatever the declared size', () => {
  const bomb = zipSync({ 'a.txt': new Uint8Array(8 * 1024 * 1024), 'b.txt': new Uint8Array(8 * 1024 * 1024) }, { level: 9 });
  assert.ok(bomb.length < 64 * 1024);
  // Lie in the central directory: declare 10 bytes uncompressed for each entry.
  const view = new DataView(bomb.buffer);
  for (let p = 0; p < bomb.length - 4; p++) if (view.getUint32(p, true) === 0x02014b50) view.setUint32(p + 24, 10, true);
  const one = thrown(() => readZip(bomb, { maxEntryBytes: 1024 * 1024 }));
  assert.instance(one, InputTooLargeError);
  assert.is((one as InputTooLargeError).code, 'zip_entry_too_large');
  const total = thrown(() => readZip(bomb, { maxEntryBytes: 9 * 1024 * 1024, maxTotalBytes: 12 * 1024 * 1024 }));
  assert.is((total as InputTooLargeError).code, 'zip_too_large');
  assert.is((total as InputTooLargeError).status, 413);
  assert.is(readZip(bomb).get('a.txt')!.length, 8 * 1024 * 1024);
});

zip('the entry count is capped before anything is inflated', () => {
  const many: Zippable = Object.fromEntries(Array.from({ length: 50 }, (_, k) => [`f${k}.txt`, strToU8('x')]));
  assert.is((thrown(() => readZip(zipSync(many), { maxEntries: 10 })) as InputTooLargeError).code, 'zip_too_many_entries');
  assert.is(readZip(zipSync(many)).size, 50);
});

zip('an importer turns unsafe entries into errors and imports nothing', () => {
  const r = parseYolo(rawZip([['classes.txt', 'car\n'], ['../labels/frame_000000.txt', '0 0.5 0.5 0.1 0.1\n']]), { meta: { width: 10, height: 10 } });
  assert.equal(r.errors.map((p) => p.code), ['zip_unsafe_name']);
  assert.is(r.content.annotations.length, 0);
});

zip('a damaged entry is refused by name: its bytes do not match the CRC-32 the archive declares', () => {
  assert.is(crc32(strToU8('hello')), 0x3610a686);
  const bytes = zipSync({ 'labels/a.txt': strToU8('0 0.5 0.5 0.1 0.1\n'), 'labels/b.txt': strToU8('ok\n') }, { level: 0 });
  assert.is(readZip(bytes).size, 2);
  const damaged = bytes.slice();
  // Stored, so the first entry's text starts right after its 30-byte local header and name.
  damaged[30 + 'labels/a.txt'.length + 2] = 0x39;
  const err = thrown(() => readZip(damaged));
  assert.ok(err instanceof UnsafeInputError);
  assert.equal(err.problems.map((p) => [p.code, p.place]), [['zip_crc_mismatch', 'labels/a.txt']]);
});

zip('the overlap zip bomb (many entries, one deflate stream) is refused from its layout, before anything is inflated', () => {
  // 1 000 × 16 MiB: inflating would stop only at the 256 MiB total cap (413 zip_too_large).
  const bomb = overlapBomb({ entries: 1000, inflatedBytes: 16 * 1024 * 1024, name: (k) => `labels/f${k}.txt` });
  assert.ok(bomb.length < 128 * 1024, `the bomb is ${bomb.length} bytes`);
  const e = thrown(() => readZip(bomb));
  assert.instance(e, UnsafeInputError, 'refused as unsafe (422), not past a size cap (413)');
  const problems = (e as UnsafeInputError).problems;
  assert.is(problems.length, 999, 'every entry but the one the local header names');
  assert.equal(problems[0], { code: 'zip_name_mismatch', message: 'the local header names another file than the central directory', place: 'labels/f1.txt' });
  assert.equal([...new Set(codes(e))], ['zip_name_mismatch']);
  assert.ok(refusedByLayout(bomb), 'refusedByLayout says so up front');
});

zip('refusedByLayout is false where readZip does not refuse from the layout, or the directory cannot be read within the default limit', () => {
  assert.not.ok(refusedByLayout(zipSync({ 'a.txt': strToU8('first\n'), 'b.txt': strToU8('second\n') })), 'an ordinary zip');
  assert.not.ok(refusedByLayout(strToU8('0 0.5 0.5 0.1 0.1\n')), 'not a zip');
  const crowded: Zippable = {};
  for (let k = 0; k <= SAFE_ZIP_DEFAULTS.maxEntries; k++) crowded[`f${k}.txt`] = strToU8('x');
  assert.not.ok(refusedByLayout(zipSync(crowded, { level: 0 })), 'past the entry limit: readZip decides');
});

zip('entries whose bytes overlap, or reach into the central directory, are refused by name even when their names match', () => {
  const bytes = zipSync({ 'a.txt': strToU8('first file\n'), 'b.txt': strToU8('second file\n') }, { level: 0 });
  assert.is(readZip(bytes).size, 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const central: number[] = [];
  for (let p = 0; p < bytes.length - 4; p++) if (view.getUint32(p, true) === 0x02014b50) central.push(p);
  const [a, b] = central as [number, number];
  const bOffset = view.getUint32(b + 42, true);
  // a's data now claims to run over b's local header: b shares bytes with a.
  const overlapping = bytes.slice();
  new DataView(overlapping.buffer).setUint32(a + 20, bOffset, true);
  assert.equal(codes(thrown(() => readZip(overlapping))), ['zip_overlap']);
  assert.is((thrown(() => readZip(overlapping)) as UnsafeInputError).problems[0]!.place, 'b.txt');
  // b's data claims to run into the central directory.
  const intoDirectory = bytes.slice();
  new DataView(intoDirectory.buffer).setUint32(b + 20, a - bOffset, true);
  const e = thrown(() => readZip(intoDirectory));
  assert.equal((e as UnsafeInputError).problems, [{ code: 'zip_overlap', message: 'the entry runs into the central directory', place: 'b.txt' }]);
  // Both central entries at a's local header: b's name is not the one that header carries.
  const shared = bytes.slice();
  new DataView(shared.buffer).setUint32(b + 42, 0, true);
  assert.equal(codes(thrown(() => readZip(shared))), ['zip_name_mismatch']);
  // Even unwanted entries are checked: the layout is the archive's, not the importer's.
  assert.equal(codes(thrown(() => readZip(shared, { want: () => false }))), ['zip_name_mismatch']);
});

const xml = suite('safe xml');

xml('DOCTYPE and ENTITY are refused before parsing, with the line', () => {
  assert.equal(codes(thrown(() => parseSafeXml('<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', 'a.xml'))), ['xml_doctype']);
  assert.is((thrown(() => checkXml('<a>\n<!ENTITY x "y"></a>', 'b.xml')) as UnsafeInputError).problems[0]!.place, 'b.xml:2');
});

xml('depth and size are capped', () => {
  const deep = '<a>'.repeat(40) + '</a>'.repeat(40);
  assert.equal(codes(thrown(() => parseSafeXml(deep, 'd.xml'))), ['xml_too_deep']);
  assert.ok(parseSafeXml(deep, 'd.xml', { maxDepth: 50 }));
  assert.instance(thrown(() => parseSafeXml('<a>' + 'x'.repeat(100) + '</a>', 's.xml', { maxLength: 50 })), InputTooLargeError);
});

const json = suite('safe json');

json('__proto__, constructor and prototype keys never reach an object', () => {
  const { value, problems } = parseSafeJson('{"a":{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"ok":1}}');
  assert.equal(value, { a: { ok: 1 } });
  assert.equal(problems.map((p) => `${p.code} ${p.place}`), ['forbidden_key /a/__proto__', 'forbidden_key /a/constructor/prototype', 'forbidden_key /a/constructor']);
  assert.is(Object.getPrototypeOf((value as { a: object }).a), Object.prototype);
});

json('nesting deeper than the cap is refused without recursing further', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.equal(parseSafeJson(deep).problems.map((p) => p.code), ['json_too_deep']);
  assert.equal(parseSafeJson('[[[1]]]', { maxDepth: 3 }).value, [[[1]]]);
});

json('NaN, Infinity, 1e309 and 12abc are not numbers', () => {
  for (const bad of ['[NaN]', '[Infinity]', '[-Infinity]', '[1e309]', '[12abc]', '[1.]', '[01]']) {
    const { problems } = parseSafeJson(bad);
    assert.ok(problems.length === 1 && (problems[0]!.code === 'bad_number' || problems[0]!.code === 'json_syntax'), bad);
    assert.is(problems[0]!.place, '/0', bad);
  }
  assert.equal(parseSafeJson('\uFEFF{"a":[1.5e3,-0,"\\u00e9\\n"]}').value, { a: [1500, -0, 'é\n'] });
});

json('matches JSON.parse on ordinary documents', () => {
  const doc = { s: 'quote " backslash \\ tab \t', n: [0, -1.25, 3e-7, 12345678901234], b: [true, false, null], o: { 'k/~': {} } };
  assert.equal(parseSafeJson(JSON.stringify(doc, null, 2)).value, doc);
});

zip.run();
xml.run();
json.run();
