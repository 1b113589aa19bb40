/**
 * Unsafe imports over real HTTP: zip-slip names, symlinks, a zip bomb, an overlap zip bomb, a ZIP64 entry-count lie, DOCTYPE/ENTITY and
 * deep XML, deep JSON, `__proto__` keys, bodies declared past the limit, and mode=replace. Each is
 * refused (422 naming a code and a place, or 413), the session is unchanged (its native export
 * byte for byte and its Yjs state vector: not even an empty transaction), and the server answers
 * the next request. The converter-level cases: test/formats/safety.test.ts and zip64.test.ts.
 */
import http from 'node:http';
import { crc32 } from '../../docs-model/formats/crc32.ts';
import { suite } from 'uvu';
import { rawZip } from '../helpers/zips.ts';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { deflateSync, strToU8, zipSync, type Zippable } from 'fflate';
import { SAFE_JSON_DEFAULTS, SAFE_XML_DEFAULTS, SAFE_ZIP_DEFAULTS } from '../../docs-model/formats/index.ts';
import { IMPORT_LIMITS } from '../../server/api/routes/formats.ts';
import { parseDocName } from '../../docs-model/protocol.ts';
import { databaseKinds } from '../../tools/databases.ts';
import { linkedSession, type ApiTestServer, type HttpResult, type SessionBody, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';
import { overlapBomb } from '../../tools/zip-bombs.ts';

interface Refusal {
  error: { code: string; message: string; details?: unknown };
}

/** What a populated session looked like: its native export and its document's state vector. */
interface Snapshot {
  exported: string;
  stateVector: string;
}

const ZIP = 'application/zip';
const XML = 'application/xml';
const JSON_TYPE = 'application/json';

const post = (t: ApiTestServer, session: SessionBody, query: string, type: string, raw: string | Uint8Array) =>
  t.http.request<Refusal>('POST', `/api/sessions/${session.id}/import?${query}`, undefined, { headers: { 'content-type': type }, raw });

async function snapshot(t: ApiTestServer, session: SessionBody): Promise<Snapshot> {
  const res = await fetch(`${t.url}/api/sessions/${session.id}/export?format=json`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.is(res.status, 200, 'the server answers the next request');
  const exported = await res.text();
  const stateVector = await t.registry.read(parseDocName(session.docName)!, (ydoc) => Buffer.from(Y.encodeStateVector(ydoc)).toString('base64'));
  return { exported, stateVector };
}

/** A track with keyframes on frames 0 and 10 and a standalone box; the project's labels car, person, bike. */
async function populated(t: ApiTestServer): Promise<{ session: SessionBody; before: Snapshot }> {
  const { session } = await linkedSession(t.http);
  const base = `/api/sessions/${session.id}`;
  assert.is((await t.http.post(`${base}/tracks`, { id: 't1', label: 'car' })).status, 201);
  const created = await t.http.post(`${base}/annotations`, [
    { id: 'k0', frame: 0, bbox: [10, 10, 50, 50], label: 'car', trackId: 't1' },
    { id: 'k10', frame: 10, bbox: [110, 10, 50, 50], label: 'car', trackId: 't1' },
    { id: 'a1', frame: 5, bbox: [300, 200, 40, 60], label: 'person', status: 'validated' },
  ]);
  assert.is(created.status, 201, created.text);
  return { session, before: await snapshot(t, session) };
}

async function assertUnchanged(t: ApiTestServer, session: SessionBody, before: Snapshot, what: string): Promise<void> {
  const after = await snapshot(t, session);
  assert.is(after.exported, before.exported, `${what}: the native export is unchanged`);
  assert.is(after.stateVector, before.stateVector, `${what}: nothing was written to the document`);
}

const placed = (res: HttpResult<Refusal>): string[] => {
  const details = res.body.error?.details;
  return Array.isArray(details) ? details.map((d: { code: string; place: string }) => `${d.code}@${d.place}`) : [];
};

function assertRefused(res: HttpResult<Refusal>, expected: string[], what: string): void {
  assert.is(res.status, 422, `${what}: ${res.text}`);
  assert.is(res.body.error.code, 'import_invalid', what);
  assert.equal(placed(res), expected, what);
}

function assertTooLarge(res: HttpResult<Refusal>, details: { code: string; place: string; limitBytes?: number; limitEntries?: number }, what: string): void {
  assert.is(res.status, 413, `${what}: ${res.text}`);
  assert.is(res.body.error.code, 'too_large', what);
  assert.equal(res.body.error.details, details, what);
}


/** Little-endian fields: [width in bytes, value]. */
function le(...fields: Array<[2 | 4 | 8, number | bigint]>): Uint8Array {
  const out = new Uint8Array(fields.reduce((n, [w]) => n + w, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [w, v] of fields) {
    if (w === 2) view.setUint16(at, Number(v), true);
    else if (w === 4) view.setUint32(at, Number(v), true);
    else view.setBigUint64(at, BigInt(v), true);
    at += w;
  }
  return out;
}

/**
 * A zip laid out by hand from already deflated entries, each declaring `declared` bytes inflated
 * (a bomb lies small); with `claim`, ZIP64 end records that claim that many entries. A bomb's CRC
 * is 0: the reader refuses it before a CRC could matter.
 */
function handZip(entries: Array<{ name: string; deflated: Uint8Array; declared: number; crc?: number }>, claim?: bigint): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  const put = (...bytes: Uint8Array[]): void => {
    for (const b of bytes) {
      parts.push(b);
      at += b.length;
    }
  };
  const central: Uint8Array[] = [];
  for (const e of entries) {
    const name = strToU8(e.name);
    const offset = at;
    const sizes: Array<[4, number]> = [[4, e.crc ?? 0], [4, e.deflated.length], [4, e.declared]];
    put(le([4, 0x04034b50], [2, 20], [2, 0x0800], [2, 8], [2, 0], [2, 0], ...sizes, [2, name.length], [2, 0]), name, e.deflated);
    central.push(le([4, 0x02014b50], [2, 20], [2, 20], [2, 0x0800], [2, 8], [2, 0], [2, 0], ...sizes, [2, name.length], [2, 0], [2, 0], [2, 0], [2, 0], [4, 0], [4, offset]), name);
  }
  const cdOffset = at;
  put(...central);
  const cdSize = at - cdOffset;
  if (claim === undefined) {
    put(le([4, 0x06054b50], [2, 0], [2, 0], [2, entries.length], [2, entries.length], [4, cdSize], [4, cdOffset], [2, 0]));
  } else {
    const record = at;
    put(le([4, 0x06064b50], [8, 44], [2, 45], [2, 45], [4, 0], [4, 0], [8, claim], [8, claim], [8, cdSize], [8, cdOffset]));
    put(le([4, 0x07064b50], [4, 0], [8, record], [4, 1]));
    put(le([4, 0x06054b50], [2, 0], [2, 0], [2, 0xffff], [2, 0xffff], [4, 0xffffffff], [4, 0xffffffff], [2, 0]));
  }
  return Buffer.concat(parts);
}

const vocXml = (frame: string): string =>
  `<annotation><filename>${frame}.jpg</filename><size><width>640</width><height>480</height></size>` +
  '<object><name>car</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>31</xmax><ymax>42</ymax></bndbox></object></annotation>';

/** Per zip format: files that import on their own, and the name the unsafe entry takes. */
const ARCHIVES = {
  yolo: { files: [['obj.names', 'car\n'], ['obj_train_data/frame_000001.txt', '0 0.5 0.5 0.1 0.1\n']] as [string, string][], entry: 'obj_train_data/frame_000002.txt' },
  voc: { files: [['Annotations/frame_000001.xml', vocXml('frame_000001')]] as [string, string][], entry: 'Annotations/frame_000002.xml' },
} as const;
const ZIP_FORMATS = Object.keys(ARCHIVES) as Array<keyof typeof ARCHIVES>;
/** Built before the first request (tools/zip-bombs.ts: deflating 16 MiB blocks this process for seconds). */
const OVERLAP_BOMBS = Object.fromEntries(
  ZIP_FORMATS.map((format) => {
    const name = (k: number): string => ARCHIVES[format].entry.replace('000002', String(k + 2).padStart(6, '0'));
    return [format, { name, bomb: overlapBomb({ entries: 1000, inflatedBytes: 16 * 1024 * 1024, name }) }];
  }),
) as Record<(typeof ZIP_FORMATS)[number], { name: (k: number) => string; bomb: Uint8Array }>;

const deflated = (files: [string, string][]) =>
  files.map(([name, text]) => ({ name, deflated: deflateSync(strToU8(text)), declared: text.length, crc: crc32(strToU8(text)) }));

let zeros: Uint8Array | undefined;
/** One byte past the per-entry cap the route leaves at its default, as ~64 KiB of deflate (built once: ~0.5 s). */
const bombEntry = (): Uint8Array => (zeros ??= deflateSync(new Uint8Array(SAFE_ZIP_DEFAULTS.maxEntryBytes + 1), { level: 1 }));

const BILLION_LAUGHS =
  '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from({ length: 9 }, (_, k) => `<!ENTITY lol${k + 1} "${`&lol${k || ''};`.repeat(10)}">`).join('') +
  ']>\n<annotation><filename>&lol9;</filename></annotation>';
const XXE = '<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><annotation><filename>&xxe;</filename></annotation>';
const DEEP_XML = `<annotation>${'<a>'.repeat(SAFE_XML_DEFAULTS.maxDepth + 8)}${'</a>'.repeat(SAFE_XML_DEFAULTS.maxDepth + 8)}</annotation>`;
const DEEP = 10_000; // far past the cap: a recursive parser would overflow its stack here

/** Sends `sent` bytes of a body declaring `declared` and answers as soon as the server does. */
function partialPost(t: ApiTestServer, path: string, type: string, declared: number, sent: number): Promise<{ status: number; body: Refusal }> {
  return new Promise((resolve, reject) => {
    // A guard, not a wait: an answer that needs the rest of the body would never come.
    const guard = setTimeout(() => reject(new Error(`no answer to ${sent} of ${declared} declared bytes: the server waits for the body`)), 10_000);
    const req = http.request(t.url + path, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': type, 'content-length': String(declared), authorization: `Bearer ${t.adminToken}` },
    });
    req.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(guard);
        req.removeAllListeners('error').on('error', () => {}); // the socket we abandon may reset
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Refusal });
      });
    });
    req.write(Buffer.alloc(sent, 0x20));
  });
}

for (const kind of databaseKinds()) {
  const test = suite<ApiSuiteContext>(`REST import safety (${kind})`);
  withApiServer(test, kind);

  test('the archives the unsafe cases start from import on their own (so each refusal is the unsafe part)', async ({ t }) => {
    const { session, before } = await populated(t);
    for (const format of ZIP_FORMATS) {
      const res = await post(t, session, `format=${format}&dryRun=true`, ZIP, rawZip(ARCHIVES[format].files));
      assert.is(res.status, 200, `${format}: ${res.text}`);
      const hand = await post(t, session, `format=${format}&dryRun=true`, ZIP, handZip(deflated(ARCHIVES[format].files)));
      assert.is(hand.status, 200, `${format}, written by hand: ${hand.text}`);
    }
    await assertUnchanged(t, session, before, 'dryRun');
  });

  test('zip entries with .., an absolute path, a drive, a backslash or a duplicate name are refused by name, and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    for (const format of ZIP_FORMATS) {
      const { files } = ARCHIVES[format];
      const cases: Array<[string, string]> = [
        ['../x.txt', 'zip_unsafe_name'],
        ['obj/../../x.txt', 'zip_unsafe_name'],
        ['/etc/x', 'zip_unsafe_name'],
        ['C:/x.txt', 'zip_unsafe_name'],
        ['..\\..\\x.txt', 'zip_unsafe_name'],
        [files[files.length - 1]![0], 'zip_duplicate_name'],
      ];
      for (const [name, code] of cases) {
        const what = `${format} with ${name}`;
        const res = await post(t, session, `format=${format}`, ZIP, rawZip([...files, [name, '0 0.5 0.5 0.1 0.1\n']]));
        assertRefused(res, [`${code}@${name}`], what);
        await assertUnchanged(t, session, before, what);
      }
      const all = await post(t, session, `format=${format}`, ZIP, rawZip([...files, ...cases.map(([name]): [string, string] => [name, 'x'])]));
      assert.equal(placed(all), cases.map(([name, code]) => `${code}@${name}`), `${format}: every unsafe name at once`);
      await assertUnchanged(t, session, before, `${format} with every unsafe name`);
    }
  });

  test('a symlink entry is refused from its external attributes, and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    for (const format of ZIP_FORMATS) {
      const { files, entry } = ARCHIVES[format];
      const zippable: Zippable = Object.fromEntries(files.map(([n, text]) => [n, strToU8(text)]));
      zippable[entry] = [strToU8('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }];
      const res = await post(t, session, `format=${format}`, ZIP, zipSync(zippable));
      assertRefused(res, [`zip_symlink@${entry}`], `${format} symlink`);
      await assertUnchanged(t, session, before, `${format} symlink`);
    }
  });

  test('a zip bomb declaring a tiny size stops at the per-entry cap while inflating (413), and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    for (const format of ZIP_FORMATS) {
      const { files, entry } = ARCHIVES[format];
      const bomb = handZip([...deflated(files), { name: entry, deflated: bombEntry(), declared: 100 }]);
      assert.ok(bomb.length < 128 * 1024, `the bomb is ${bomb.length} bytes`);
      const res = await post(t, session, `format=${format}`, ZIP, bomb);
      assertTooLarge(res, { code: 'zip_entry_too_large', place: entry, limitBytes: SAFE_ZIP_DEFAULTS.maxEntryBytes }, `${format} bomb`);
      await assertUnchanged(t, session, before, `${format} bomb`);
    }
  });

  test('an overlap zip bomb (1 000 entries over one 16 MiB deflate stream) is refused as unsafe (422) from its layout, and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    for (const format of ZIP_FORMATS) {
      const { name, bomb } = OVERLAP_BOMBS[format];
      const res = await post(t, session, `format=${format}`, ZIP, bomb);
      // Inflated, it would stop at the total cap with 413 zip_too_large; the layout refuses it first.
      assertRefused(res, Array.from({ length: 999 }, (_, k) => `zip_name_mismatch@${name(k + 1)}`), `${format} overlap bomb`);
      await assertUnchanged(t, session, before, `${format} overlap bomb`);
    }
  });

  test('a ZIP64 end record claiming 2^40 entries is refused by its count alone (413), and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    for (const format of ZIP_FORMATS) {
      const lie = handZip(deflated(ARCHIVES[format].files), 2n ** 40n);
      assert.ok(lie.length < 1024);
      const res = await post(t, session, `format=${format}`, ZIP, lie);
      assertTooLarge(res, { code: 'zip_too_many_entries', place: '', limitEntries: SAFE_ZIP_DEFAULTS.maxEntries }, `${format} 2^40 entries`);
      await assertUnchanged(t, session, before, `${format} 2^40 entries`);
    }
  });

  test('XML with a DOCTYPE or ENTITY (billion laughs, XXE) is refused before parsing, alone or in a zip, and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    const laughs = await post(t, session, 'format=voc', XML, BILLION_LAUGHS);
    assertRefused(laughs, ['xml_doctype@annotation.xml:2'], 'billion laughs');
    await assertUnchanged(t, session, before, 'billion laughs');
    const { files, entry } = ARCHIVES.voc;
    const zipped = await post(t, session, 'format=voc', ZIP, rawZip([...files, [entry, XXE], ['Annotations/frame_000003.xml', BILLION_LAUGHS]]));
    assertRefused(zipped, [`xml_doctype@${entry}:1`, 'xml_doctype@Annotations/frame_000003.xml:2'], 'XXE and billion laughs in a zip');
    await assertUnchanged(t, session, before, 'XXE in a zip');
  });

  test('XML nested deeper than the cap is refused with its line, alone or in a zip, and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    assertRefused(await post(t, session, 'format=voc', XML, DEEP_XML), ['xml_too_deep@annotation.xml:1'], 'deep XML');
    await assertUnchanged(t, session, before, 'deep XML');
    const { files, entry } = ARCHIVES.voc;
    const res = await post(t, session, 'format=voc', ZIP, rawZip([...files, [entry, `<?xml version="1.0"?>\n${DEEP_XML}`]]));
    assertRefused(res, [`xml_too_deep@${entry}:2`], 'deep XML in a zip');
    await assertUnchanged(t, session, before, 'deep XML in a zip');
  });

  test('JSON nested far deeper than the cap is refused at its pointer for coco and json, and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    const below = (prefix: string, levels: number, step: string): string => prefix + step.repeat(levels);
    const coco = `{"images":${'['.repeat(DEEP)}${']'.repeat(DEEP)},"annotations":[],"categories":[]}`;
    const native = JSON.parse(before.exported) as Record<string, unknown>;
    const nativeDeep = JSON.stringify({ ...native, annotations: [] }).replace('"annotations":[]', `"annotations":[{"id":"x","attributes":${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}}]`);
    // The root is depth 0: the first container refused sits at depth maxDepth.
    const cases: Array<[string, string, string]> = [
      ['coco', coco, below('/images', SAFE_JSON_DEFAULTS.maxDepth - 1, '/0')],
      ['json', nativeDeep, below('/annotations/0/attributes', SAFE_JSON_DEFAULTS.maxDepth - 3, '/a')],
    ];
    for (const [format, body, pointer] of cases) {
      const res = await post(t, session, `format=${format}`, JSON_TYPE, body);
      assertRefused(res, [`json_too_deep@${pointer}`], `${format} nested ${DEEP} deep`);
      await assertUnchanged(t, session, before, `${format} nested deep`);
    }
  });

  test('__proto__ and constructor keys in a COCO file are refused by pointer and pollute no prototype', async ({ t }) => {
    const { session, before } = await populated(t);
    // Written as text: a JS object literal would set its prototype instead of carrying the key.
    const coco =
      '{"__proto__":{"polluted":"root"},' +
      '"images":[{"id":1,"file_name":"frame_000001.jpg","width":640,"height":480,"__proto__":{"polluted":"image"}}],' +
      '"categories":[{"id":1,"name":"car","constructor":{"prototype":{"polluted":"constructor"}}}],' +
      '"annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[1,1,10,10],"attributes":{"__proto__":{"polluted":"attributes"}}}]}';
    const res = await post(t, session, 'format=coco', JSON_TYPE, coco);
    assertRefused(
      res,
      [
        'forbidden_key@/__proto__',
        'forbidden_key@/images/0/__proto__',
        'forbidden_key@/categories/0/constructor/prototype',
        'forbidden_key@/categories/0/constructor',
        'forbidden_key@/annotations/0/attributes/__proto__',
      ],
      '__proto__ keys',
    );
    assert.is(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is not polluted');
    assert.not.ok(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'));
    await assertUnchanged(t, session, before, '__proto__ keys');
    const dry = await post(t, session, 'format=coco&dryRun=true', JSON_TYPE, coco);
    assert.is(dry.status, 422, 'dryRun refuses the same file');
    assert.is(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a body declaring more than the JSON or the zip limit is refused with 413 before it is read, and nothing changes', async ({ t }) => {
    const { session, before } = await populated(t);
    for (const [format, type] of [['coco', JSON_TYPE], ['json', JSON_TYPE], ['yolo', ZIP], ['voc', ZIP]] as const) {
      const limit = IMPORT_LIMITS[type]!;
      const res = await partialPost(t, `/api/sessions/${session.id}/import?format=${format}`, type, limit + 1, 64 * 1024);
      assert.is(res.status, 413, `${format} ${type}`);
      assert.is(res.body.error.code, 'too_large');
      assert.equal(res.body.error.details, { limitBytes: limit });
      await assertUnchanged(t, session, before, `${format} past ${limit} bytes`);
    }
  });

  test('mode=replace with a refused file leaves annotations, tracks and labels', async ({ t }) => {
    const { session, before } = await populated(t);
    const native = JSON.parse(before.exported) as { labels: Record<string, unknown> };
    // A file that would replace everything, labels included, were it not for one forbidden key.
    const replacing = JSON.stringify({ ...native, labels: { truck: {} }, tracks: [], annotations: [] }).replace('"labels":{', '"labels":{"__proto__":{"polluted":true},');
    const bodies: Array<[string, string, string | Uint8Array, number]> = [
      ['json', JSON_TYPE, replacing, 422],
      ['json', JSON_TYPE, `{"schemaVersion":1,"labels":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}`, 422],
      ['coco', JSON_TYPE, '{"images":[],"categories":[{"id":1,"name":"truck"}],"annotations":[{"id":1,"image_id":9,"category_id":1,"bbox":[0,0,1,1]}],"__proto__":{}}', 422],
      ['yolo', ZIP, rawZip([['obj.names', 'truck\n'], ['../obj_train_data/frame_000001.txt', '0 0.5 0.5 0.1 0.1\n']]), 422],
      ['yolo', ZIP, handZip([{ name: 'obj_train_data/frame_000001.txt', deflated: bombEntry(), declared: 1 }]), 413],
      ['voc', XML, BILLION_LAUGHS, 422],
    ];
    for (const [format, type, body, status] of bodies) {
      const res = await post(t, session, `format=${format}&mode=replace`, type, body);
      assert.is(res.status, status, `${format} replace: ${res.text}`);
      assert.ok(placed(res).length > 0 || status === 413, `${format}: every problem named`);
      await assertUnchanged(t, session, before, `${format} replace`);
    }
    const labels = (JSON.parse((await snapshot(t, session)).exported) as { labels: Record<string, unknown> }).labels;
    assert.equal(Object.keys(labels), ['car', 'person', 'bike'], 'no label added, none removed');
    assert.is(({} as Record<string, unknown>).polluted, undefined);
  });

  test.run();
}
