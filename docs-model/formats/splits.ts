/**
 * Train/val/test splits for Ultralytics exports that do not leak neighbouring video
 * frames across splits: a frame and the next one are nearly the same image, so a model validated
 * on frames interleaved with its training frames scores what it memorised.
 *
 * - Two or more distinct videos: whole videos go to a split (all sessions of one video together).
 *   Videos are ordered by the FNV-1a hash of their id; the first `count(n, valFraction)` are val,
 *   the next `count(n, testFraction)` test, the rest train.
 * - One video (a session export, or a project whose sessions are all on one video): contiguous
 *   blocks of the video, train first, then val, then test at the end, so that only the frames at
 *   the two block edges have a neighbour in another split.
 *
 * Counts are `round(n × fraction)`, at least 1 for a fraction above 0, and train always keeps one
 * video (or frame): test gives way first, then val.
 *
 * No assignment with these exact counts can promise that adding a video never moves another one
 * out of val/test (three videos at valFraction 0.2 have one val video, four have one too, and the
 * fourth may rank first). This one moves at most one: the last-ranked val/test video, and only
 * when the new video takes a val/test place itself.
 *
 *   const plan = planSplits([{ videoId: 'v1', frameCount: 100 }], { valFraction: 0.1, testFraction: 0.1 })
 *   splitOf(plan, 'v1', 85) // 'val' (frames 0-79 train, 80-89 val, 90-99 test)
 */

export type SplitName = 'train' | 'val' | 'test';

export interface SplitFractions {
  /** Share of val, 0 ≤ f < 1. */
  valFraction: number;
  /** Share of test, 0 ≤ f < 1; valFraction + testFraction < 1. */
  testFraction: number;
}

export interface SplitVideo {
  videoId: string;
  frameCount: number;
}

/** How many of `n` items go to val and to test. */
export interface SplitCounts {
  val: number;
  test: number;
}

export type SplitPlan =
  | { mode: 'videos'; byVideo: ReadonlyMap<string, SplitName>; used: SplitName[] }
  | { mode: 'frames'; videoId: string | null; frameCount: number; trainEnd: number; testStart: number; used: SplitName[] };

/** FNV-1a, 32 bits, over the UTF-16 code units of `s`: stable across runs, machines and engines. */
export const fnv1a32 = (s: string): number => {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) {
    h ^= s.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
};

const share = (n: number, fraction: number): number => (fraction > 0 ? Math.max(1, Math.round(n * fraction)) : 0);

/** `round(n × f)` each, at least 1 for f > 0, trimmed (test first) so that train keeps at least one of `n`. */
export const splitCounts = (n: number, f: SplitFractions): SplitCounts => {
  const val = Math.min(share(n, f.valFraction), Math.max(0, n - 1));
  const test = Math.min(share(n, f.testFraction), Math.max(0, n - 1 - val));
  return { val, test };
};

export const checkFractions = (f: SplitFractions): void => {
  const ok = (v: number): boolean => Number.isFinite(v) && v >= 0 && v < 1;
  if (!ok(f.valFraction)) throw new RangeError(`valFraction must be 0 ≤ f < 1, not ${f.valFraction}`);
  if (!ok(f.testFraction)) throw new RangeError(`testFraction must be 0 ≤ f < 1, not ${f.testFraction}`);
  if (f.valFraction + f.testFraction >= 1) throw new RangeError('valFraction + testFraction must be below 1');
};

const usedOf = (counts: SplitCounts): SplitName[] => ['train', ...(counts.val ? ['val' as const] : []), ...(counts.test ? ['test' as const] : [])];

/**
 * The split of every frame of `videos` (sessions of one video may repeat it: the largest
 * frameCount counts). Throws a RangeError for fractions out of range.
 */
export const planSplits = (videos: readonly SplitVideo[], fractions: SplitFractions): SplitPlan => {
  checkFractions(fractions);
  const frameCounts = new Map<string, number>();
  for (const v of videos) frameCounts.set(v.videoId, Math.max(frameCounts.get(v.videoId) ?? 0, v.frameCount));
  if (frameCounts.size >= 2) {
    const ids = [...frameCounts.keys()]
      .map((id) => ({ id, hash: fnv1a32(id) }))
      .sort((a, b) => a.hash - b.hash || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const counts = splitCounts(ids.length, fractions);
    const byVideo = new Map<string, SplitName>();
    ids.forEach(({ id }, rank) => byVideo.set(id, rank < counts.val ? 'val' : rank < counts.val + counts.test ? 'test' : 'train'));
    return { mode: 'videos', byVideo, used: usedOf(counts) };
  }
  const [only] = frameCounts;
  const frameCount = only?.[1] ?? 0;
  const counts = splitCounts(frameCount, fractions);
  const testStart = frameCount - counts.test;
  return { mode: 'frames', videoId: only?.[0] ?? null, frameCount, trainEnd: testStart - counts.val, testStart, used: usedOf(counts) };
};

/**
 * The split of `frame` of `videoId`. Frames past the declared frameCount (annotations beyond the
 * video's end) extend the last block. Throws for a video the plan was not made with.
 */
export const splitOf = (plan: SplitPlan, videoId: string, frame: number): SplitName => {
  if (plan.mode === 'videos') {
    const split = plan.byVideo.get(videoId);
    if (split === undefined) throw new RangeError(`video '${videoId}' is not in the split plan`);
    return split;
  }
  if (videoId !== plan.videoId) throw new RangeError(`video '${videoId}' is not in the split plan`);
  if (frame < plan.trainEnd) return 'train';
  if (frame < plan.testStart) return 'val';
  // From testStart on: test, or, without one, the frames past the end join the last block.
  return plan.used[plan.used.length - 1]!;
};

/** One line for people: `3 train, 1 val, 1 test (whole videos)` or `frames 0-79 train, 80-89 val, 90-99 test`. */
export const describeSplits = (plan: SplitPlan): string => {
  if (plan.mode === 'videos') {
    const n = (split: SplitName): number => [...plan.byVideo.values()].filter((s) => s === split).length;
    return `whole videos by FNV-1a hash of the video id: ${plan.used.map((s) => `${n(s)} ${s}`).join(', ')}`;
  }
  const blocks: [SplitName, number, number][] = [
    ['train', 0, plan.trainEnd],
    ['val', plan.trainEnd, plan.testStart],
    ['test', plan.testStart, plan.frameCount],
  ];
  const parts = blocks.filter(([, from, to]) => to > from).map(([split, from, to]) => `${from}-${to - 1} ${split}`);
  return `contiguous blocks of one video: frames ${parts.length ? parts.join(', ') : 'none'}`;
};
