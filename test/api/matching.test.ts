import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rangeCredit, rankVideos, scoreVideo } from '../../server/services/matching.ts';
import type { MatchingCriteria, VideoRecord } from '../../persistence/rows.ts';

const video = (id: string, over: Partial<VideoRecord> = {}): VideoRecord => ({
  id,
  name: id,
  uri: `s3://videos/${id}.mp4`,
  width: 1920,
  height: 1080,
  fps: 25,
  frameCount: 2500,
  durationSec: 100,
  tags: [],
  metadata: {},
  checksum: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const test = suite('matching');

test('a video meeting every criterion scores 1 with one reason per criterion', () => {
  const criteria: MatchingCriteria = { tags: ['night', 'rain'], minWidth: 1280, minHeight: 720, fps: { min: 24, max: 30 }, durationSec: { max: 600 }, namePattern: '^cam' };
  const result = scoreVideo(criteria, video('cam-7', { tags: ['rain', 'night', 'city'] }));
  assert.is(result.score, 1);
  assert.is(result.reasons.length, 5);
  assert.match(result.reasons[0] ?? '', /2 of 2/);
});

test('near misses earn partial credit and say why', () => {
  const result = scoreVideo({ minWidth: 1920 }, video('v', { width: 1280, height: 720 }));
  assert.ok(Math.abs(result.score - 2 / 3) < 0.001, String(result.score));
  assert.match(result.reasons[0] ?? '', /width 1280 < 1920/);
  assert.is(rangeCredit(50, { min: 24, max: 25 }), 0.5);
  assert.is(rangeCredit(12, { min: 24 }), 0.5);
  assert.is(rangeCredit(24, { min: 24, max: 24 }), 1);
});

test('a project without criteria matches nothing', () => {
  assert.equal(scoreVideo({}, video('v')), { score: 0, reasons: ['the project has no matching criteria'] });
});

test('suggestions order on hand-made criteria: tags weigh most, then resolution, then ranges', () => {
  const criteria: MatchingCriteria = { tags: ['night'], minWidth: 1920, fps: { min: 25, max: 30 } };
  const candidates = [
    video('worst', { tags: [], width: 640, height: 480, fps: 60 }), // 0 + 2*(1/3) + 1*0.5 = 1.17/6
    video('tag-only', { tags: ['night'], width: 960, fps: 60 }), // 3 + 1 + 0.5 = 4.5/6
    video('perfect', { tags: ['NIGHT'] }), // tags compare case-insensitively
    video('no-tag', { tags: ['day'] }), // 0 + 2 + 1 = 3/6
  ];
  const ranked = rankVideos(criteria, candidates, []);
  assert.equal(
    ranked.map((s) => s.video.id),
    ['perfect', 'tag-only', 'no-tag', 'worst'],
  );
  assert.equal(
    ranked.map((s) => s.score),
    [1, 0.75, 0.5, 0.194],
  );
  for (const s of ranked) assert.ok(s.score >= 0 && s.score <= 1);
});

test('a checksum equal to a linked video is flagged and sorts after an equal score', () => {
  const linked = [video('linked', { checksum: 'sha:1' })];
  const ranked = rankVideos({ tags: ['x'] }, [video('copy', { checksum: 'sha:1', tags: ['x'] }), video('fresh', { checksum: 'sha:2', tags: ['x'] })], linked);
  assert.equal(ranked.map((s) => [s.video.id, s.duplicate]), [['fresh', false], ['copy', true]]);
  assert.equal(ranked[1]?.duplicateOf, ['linked']);
  assert.match(ranked[1]?.reasons.at(-1) ?? '', /same checksum as linked video linked/);
});

test('a name pattern is a case-insensitive regular expression', () => {
  assert.is(scoreVideo({ namePattern: 'drone-\\d+' }, video('DRONE-12')).score, 1);
  assert.is(scoreVideo({ namePattern: 'drone-\\d+' }, video('car-12')).score, 0);
});

test.run();
