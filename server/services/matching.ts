/**
 * How well a video fits a project's matching criteria: pure functions over
 * plain records, so the ranking is testable on hand-made criteria and explainable to a person.
 *
 * Each criterion the project sets is worth a weight; a video earns the weight in full when it
 * meets the criterion and a share of it when it comes close (a 1280-wide video against a 1920
 * minimum earns 2/3), so near misses rank above far ones. `score` = earned / possible, in [0, 1].
 * A project without criteria matches nothing (score 0): auto-assign then links nothing, rather
 * than the whole catalogue.
 *
 *   scoreVideo({ tags: ['night'], minWidth: 1920 }, video)
 *   // → { score: 0.8, reasons: ['tags: 1 of 1 match (night)', 'width 1280 < 1920 (2/3 credit)'] }
 */
import type { MatchingCriteria, Range, VideoRecord } from '../../persistence/rows.ts';

export const WEIGHTS = { tags: 3, resolution: 2, fps: 1, durationSec: 1, namePattern: 2 } as const;

export interface MatchScore {
  score: number;
  reasons: string[];
}

export interface Suggestion extends MatchScore {
  video: VideoRecord;
  /** Linked videos with the same checksum: this one is probably a copy. */
  duplicateOf: string[];
  duplicate: boolean;
}

type Scored = { weight: number; earned: number; reason: string };

const round = (n: number): number => Math.round(n * 1000) / 1000;
const fmt = (n: number): string => String(round(n));

/** 1 inside the range; below it value/min, above it max/value (a share that shrinks with the miss). */
export function rangeCredit(value: number, range: Range): number {
  if (range.min !== undefined && value < range.min) return range.min === 0 ? 0 : Math.max(0, value / range.min);
  if (range.max !== undefined && value > range.max) return value === 0 ? 0 : Math.max(0, range.max / value);
  return 1;
}

const describeRange = (range: Range): string =>
  range.min !== undefined && range.max !== undefined
    ? `${fmt(range.min)}–${fmt(range.max)}`
    : range.min !== undefined
      ? `≥ ${fmt(range.min)}`
      : range.max !== undefined
        ? `≤ ${fmt(range.max)}`
        : 'any';

function scoreRange(name: string, weight: number, value: number, range: Range): Scored {
  const credit = rangeCredit(value, range);
  const reason =
    credit === 1
      ? `${name} ${fmt(value)} within ${describeRange(range)}`
      : `${name} ${fmt(value)} outside ${describeRange(range)} (${Math.round(credit * 100)}% credit)`;
  return { weight, earned: weight * credit, reason };
}

function scoreTags(wanted: string[], tags: string[]): Scored {
  const have = new Set(tags.map((t) => t.toLowerCase()));
  const matched = wanted.filter((t) => have.has(t.toLowerCase()));
  const missing = wanted.filter((t) => !have.has(t.toLowerCase()));
  const credit = wanted.length === 0 ? 1 : matched.length / wanted.length;
  let reason = `tags: ${matched.length} of ${wanted.length} match`;
  if (matched.length > 0) reason += ` (${matched.join(', ')})`;
  if (missing.length > 0) reason += `; missing ${missing.join(', ')}`;
  return { weight: WEIGHTS.tags, earned: WEIGHTS.tags * credit, reason };
}

function scoreResolution(criteria: MatchingCriteria, video: VideoRecord): Scored {
  const parts: string[] = [];
  let credit = 1;
  if (criteria.minWidth !== undefined) {
    const c = Math.min(1, video.width / criteria.minWidth);
    credit *= c;
    if (c < 1) parts.push(`width ${video.width} < ${criteria.minWidth}`);
  }
  if (criteria.minHeight !== undefined) {
    const c = Math.min(1, video.height / criteria.minHeight);
    credit *= c;
    if (c < 1) parts.push(`height ${video.height} < ${criteria.minHeight}`);
  }
  const wanted = `${criteria.minWidth ?? 'any'}x${criteria.minHeight ?? 'any'}`;
  const reason =
    parts.length === 0
      ? `resolution ${video.width}x${video.height} meets ${wanted}`
      : `resolution ${video.width}x${video.height} below ${wanted}: ${parts.join(', ')} (${Math.round(credit * 100)}% credit)`;
  return { weight: WEIGHTS.resolution, earned: WEIGHTS.resolution * credit, reason };
}

function scoreName(pattern: string, name: string): Scored {
  let matches = false;
  try {
    matches = new RegExp(pattern, 'i').test(name);
  } catch {
    matches = false; // refused by the schema on write; an old stored one just does not match
  }
  return {
    weight: WEIGHTS.namePattern,
    earned: matches ? WEIGHTS.namePattern : 0,
    reason: matches ? `name matches /${pattern}/i` : `name does not match /${pattern}/i`,
  };
}

/** The score of one video against the criteria, with one reason per criterion. */
export function scoreVideo(criteria: MatchingCriteria, video: VideoRecord): MatchScore {
  const parts: Scored[] = [];
  if (criteria.tags && criteria.tags.length > 0) parts.push(scoreTags(criteria.tags, video.tags));
  if (criteria.minWidth !== undefined || criteria.minHeight !== undefined) parts.push(scoreResolution(criteria, video));
  if (criteria.fps && (criteria.fps.min !== undefined || criteria.fps.max !== undefined)) {
    parts.push(scoreRange('fps', WEIGHTS.fps, video.fps, criteria.fps));
  }
  if (criteria.durationSec && (criteria.durationSec.min !== undefined || criteria.durationSec.max !== undefined)) {
    parts.push(scoreRange('duration (s)', WEIGHTS.durationSec, video.durationSec, criteria.durationSec));
  }
  if (criteria.namePattern !== undefined && criteria.namePattern !== '') parts.push(scoreName(criteria.namePattern, video.name));
  if (parts.length === 0) return { score: 0, reasons: ['the project has no matching criteria'] };
  const possible = parts.reduce((sum, p) => sum + p.weight, 0);
  const earned = parts.reduce((sum, p) => sum + p.earned, 0);
  return { score: round(Math.min(1, Math.max(0, earned / possible))), reasons: parts.map((p) => p.reason) };
}

/**
 * Ranks candidates best first (score, then non-duplicates, then name and id, so the order is
 * stable), flagging those whose checksum equals a linked video's.
 */
export function rankVideos(criteria: MatchingCriteria, candidates: readonly VideoRecord[], linked: readonly VideoRecord[]): Suggestion[] {
  const byChecksum = new Map<string, string[]>();
  for (const video of linked) {
    if (video.checksum === null) continue;
    const ids = byChecksum.get(video.checksum) ?? [];
    ids.push(video.id);
    byChecksum.set(video.checksum, ids);
  }
  const out = candidates.map((video): Suggestion => {
    const duplicateOf = video.checksum === null ? [] : (byChecksum.get(video.checksum) ?? []);
    const { score, reasons } = scoreVideo(criteria, video);
    const allReasons = duplicateOf.length > 0 ? [...reasons, `same checksum as linked video ${duplicateOf.join(', ')}`] : reasons;
    return { video, score, reasons: allReasons, duplicateOf, duplicate: duplicateOf.length > 0 };
  });
  return out.sort(
    (a, b) =>
      b.score - a.score ||
      Number(a.duplicate) - Number(b.duplicate) ||
      (a.video.name < b.video.name ? -1 : a.video.name > b.video.name ? 1 : 0) ||
      (a.video.id < b.video.id ? -1 : a.video.id > b.video.id ? 1 : 0),
  );
}
