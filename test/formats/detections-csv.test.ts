/**
 * Detections from CSV/TSV: header in any order, quoting, the endpoint's rules (frame, box, label,
 * score), and every error placed by file, line and column, with nothing accepted while any remains.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDetectionsCsv } from '../../docs-model/formats/detections-csv.ts';

const META = { width: 100, height: 50, frameCount: 10 };
const test = suite('detections CSV/TSV');

test('reads CSV with the header columns in any order, quoted labels, CRLF and a BOM', () => {
  const r = parseDetectionsCsv('\uFEFFscore,Frame,label,x,y,w,h,trackId\r\n0.9,0,car,1,2,30,40,7\r\n0.25,3,"big, red ""truck""",0,0,1e1,5.5,\r\n\r\n', { meta: META });
  assert.equal(r.errors, []);
  assert.is(r.delimiter, ',');
  assert.equal(r.detections, [
    { frame: 0, label: 'car', bbox: [1, 2, 30, 40], score: 0.9, trackId: '7', detectionId: null },
    { frame: 3, label: 'big, red "truck"', bbox: [0, 0, 10, 5.5], score: 0.25, trackId: null, detectionId: null },
  ]);
});

test('reads TSV, where a comma is part of a field', () => {
  const r = parseDetectionsCsv('frame\tlabel\tx\ty\tw\th\tscore\n2\tcar, small\t1\t1\t5\t5\t1\n');
  assert.is(r.delimiter, '\t');
  assert.equal(r.detections.map((d) => d.label), ['car, small']);
});

test('reports every bad field with its line and column, and accepts nothing', () => {
  const csv = [
    'frame,label,x,y,w,h,score',
    '0,car,1,2,30,40,0.9',
    '-1,car,1,2,30,40,0.9',
    '10,car,1,2,30,40,0.9',
    '1.5,,1,2,30,40,1.2',
    '1,car,abc,2,30,40,0.5',
    '1,car,90,2,30,40,0.5',
    '1,car,1,2,0,40,0.5',
    '1,car,1,2',
    '1,"car,1,2,3,4,0.5',
  ].join('\n');
  const r = parseDetectionsCsv(csv, { meta: META, fileName: 'run.csv' });
  assert.equal(r.detections, []);
  assert.equal(
    r.errors.map((e) => `${e.place} ${e.code}`),
    [
      'run.csv:3:frame invalid_frame',
      'run.csv:4:frame invalid_frame',
      'run.csv:5:frame invalid_frame',
      'run.csv:5:label invalid_label',
      'run.csv:5:score invalid_score',
      'run.csv:6:x invalid_number',
      'run.csv:7:x,y,w,h invalid_bbox',
      'run.csv:8:x,y,w,h invalid_bbox',
      'run.csv:9 csv_columns',
      'run.csv:10 csv_syntax',
    ],
  );
  assert.ok(r.errors[1]!.message.includes('frameCount (10)'), r.errors[1]!.message);
});

test('clips a box that crosses the edge when asked, as the endpoint does', () => {
  const r = parseDetectionsCsv('frame,label,x,y,w,h,score\n0,car,90,40,20,20,0.5\n', { meta: META, clip: true });
  assert.equal(r.detections[0]!.bbox, [90, 40, 10, 10]);
});

test('a header that misses a column, repeats one or names an unknown one is refused at line 1', () => {
  const r = parseDetectionsCsv('frame,label,x,y,w,score,score,colour\n0,car,1,1,1,1,1,red\n');
  assert.equal(r.errors.map((e) => `${e.place} ${e.message}`), [
    'detections.csv:1:score score: the column appears twice',
    'detections.csv:1:colour colour: unknown column (expected frame, label, x, y, w, h, score, trackId, detectionId)',
    'detections.csv:1:h h: required column missing from the header',
  ]);
  assert.is(parseDetectionsCsv('').errors[0]!.code, 'csv_header');
});

test('lists at most maxErrors problems but counts them all', () => {
  const rows = Array.from({ length: 50 }, () => 'x,car,1,1,1,1,1');
  const r = parseDetectionsCsv(['frame,label,x,y,w,h,score', ...rows].join('\n'), { maxErrors: 5 });
  assert.equal([r.errors.length, r.errorCount], [5, 50]);
});

test.run();
