import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { exportNativeJson, parseNativeJson } from '../../docs-model/formats/native-json.ts';
import { collect } from '../../docs-model/formats/zip-writer.ts';
import { seedFromEnv, sessionArb } from '../helpers/format-sessions.ts';

const native = suite('native json');

native('export then import yields identical content', () => {
  const seed = seedFromEnv('native json');
  fc.assert(
    fc.property(sessionArb, (content) => {
      const r = parseNativeJson(collect(exportNativeJson(content)), { labels: content.labels });
      assert.equal(r.errors, []);
      assert.equal(r.warnings, []);
      assert.equal(r.content.meta, content.meta);
      assert.equal(r.content.labels, content.labels);
      assert.equal(r.content.tracks, content.tracks);
      assert.equal(r.content.annotations, content.annotations);
    }),
    { seed, numRuns: 100 },
  );
});

native('a wrong schema version or malformed annotations are refused with pointers', () => {
  assert.equal(parseNativeJson('{"schemaVersion":2}').errors.map((e) => e.code), ['schema_version']);
  const r = parseNativeJson(JSON.stringify({
    schemaVersion: 1, meta: {}, labels: { car: {} }, tracks: [],
    annotations: [{ id: 'a', frame: -1, bbox: [0, 0, 0, 1], label: 'car' }, { id: 'b', frame: 0, bbox: [0, 0, 1, 1], label: 'cat', trackId: 'x', detectionId: null, attributes: {}, occluded: false, outside: false, status: 'draft', source: 'manual', createdBy: '', updatedBy: '', createdAt: 0, updatedAt: 0 }],
  }));
  const places = r.errors.map((e) => `${e.code} ${e.place}`);
  assert.ok(places.includes('json_invalid /annotations/0/frame'));
  assert.ok(places.includes('json_invalid /annotations/0/bbox'));
  assert.ok(places.includes('unknown_track /annotations/1/trackId'));
  assert.ok(places.includes('unknown_label /annotations/1/label'));
});

native.run();
