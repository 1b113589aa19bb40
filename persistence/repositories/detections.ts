/**
 * The `detections` table: what a model found, per run and frame, kept apart from the
 * ground truth (which lives in session documents). An append is all or nothing, and becomes
 * visible with the run's `detection_count` in one transaction that holds the run's row locked, so
 * a run that finished meanwhile takes no more detections and `detection_count` always equals the
 * rows listed. An append of one chunk (statement-size.ts) is that one transaction. A larger one is
 * written first, a chunk per statement, as an unfinished upload (`detection_uploads`, whose rows
 * readers skip: migrations/20261207_0011_detection_uploads.ts), and that transaction then only
 * deletes its upload row: on PGlite, whose one connection an open transaction holds for every
 * statement of the process, 50 000 detections in one transaction held it for 1.4-1.9 s.
 *
 *   const detections = createDetectionRepository({ knex })
 *   await detections.append(runId, [{ frame: 0, bbox: [1, 2, 3, 4], label: 'car', score: 0.9 }])
 *   await detections.list(runId)   // → DetectionBox[] in insertion order (evaluation input)
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { BBox } from '../../docs-model/index.ts';
import { TERMINAL_STATUSES, testRunFromRow, type TestRunRecord, type TestRunRow } from './test-runs.ts';
import { jsonChunkBytes, jsonChunks, readPageRows } from '../statement-size.ts';

export interface DetectionRecord {
  frame: number;
  bbox: BBox;
  label: string;
  score: number;
  detectionId: string | null;
  /** The tracker's id of the object (MOT `id`, COCO results `track_id`); null or absent without a tracker. */
  trackId?: string | null;
}

interface DetectionRow {
  run_id: string;
  upload_id: string;
  frame: number;
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
  score: number;
  detection_id: string | null;
  track_id: string | null;
}

/** An upload unfinished this long is taken for abandoned where other processes may be writing one (an upload takes seconds). */
export const ABANDONED_UPLOAD_MS = 60 * 60_000;

export type AppendResult = { run: TestRunRecord } | { conflict: 'finished'; run: TestRunRecord } | null;

export interface DetectionRepository {
  /** Appends to a run that is not finished; null when there is no such run. */
  append(runId: string, detections: readonly DetectionRecord[]): Promise<AppendResult>;
  /**
   * Removes the rows of uploads left unfinished at least `olderThanMs` ago (their process died
   * mid-upload); resolves with how many uploads.
   */
  sweepAbandoned(olderThanMs: number): Promise<number>;
  /** Every detection of the run, in the order they were posted. */
  list(runId: string): Promise<DetectionRecord[]>;
  count(runId: string): Promise<number>;
  /**
   * What names the run's visible detections for good: how many there are, read from the run's row
   * (`detection_count`, which the upload that makes rows visible raises in its transaction: one
   * short read, not a count of the rows), and when the run was created (its `created_at` as
   * Postgres prints it). A run's visible detections only grow, and a run deleted (with its project
   * or video) and made again under the same id (a caller may choose it) is another creation. A count
   * of 0 and an empty `created` for no such run.
   */
  visibleSet(runId: string): Promise<{ count: number; created: string }>;
}

const toRow = (runId: string, uploadId: string, d: DetectionRecord): DetectionRow => ({
  run_id: runId,
  upload_id: uploadId,
  frame: d.frame,
  x: d.bbox[0],
  y: d.bbox[1],
  w: d.bbox[2],
  h: d.bbox[3],
  label: d.label,
  score: d.score,
  detection_id: d.detectionId,
  track_id: d.trackId ?? null,
});

/**
 * One json parameter per chunk of the batch, as the annotations projection does (see its comment).
 * Answers the range of sequence numbers it wrote, so the check for repeated boxes reads this
 * upload's rows by the primary key.
 */
const INSERT_SQL = `
  with written as (
    insert into detections (run_id, upload_id, frame, x, y, w, h, label, score, detection_id, track_id)
    select run_id, upload_id, frame, x, y, w, h, label, score, detection_id, track_id
    from json_populate_recordset(null::detections, ?::json)
    returning seq)
  select min(seq)::text as lo, max(seq)::text as hi from written`;

/** The sequence numbers an upload's rows were given, from its first to its last. */
interface SeqRange {
  lo: bigint;
  hi: bigint;
}

async function insertChunk(db: Knex | Knex.Transaction, json: string, range: SeqRange | null): Promise<SeqRange | null> {
  const row = ((await db.raw(INSERT_SQL, [json])) as { rows: Array<{ lo: string | null; hi: string | null }> }).rows[0];
  if (!row || row.lo === null || row.hi === null) return range;
  const lo = BigInt(row.lo);
  const hi = BigInt(row.hi);
  return range ? { lo: lo < range.lo ? lo : range.lo, hi: hi > range.hi ? hi : range.hi } : { lo, hi };
}

/** What readers see: rows of no upload still being written (an anti-join on a table of a few rows). */
const VISIBLE = `not exists (select 1 from detection_uploads u where u.id = detections.upload_id)`;

/**
 * Rows come back as a few parallel columns: 100 000 row objects cost the drivers far more. The
 * numbers as bytes, each column one bytea of the values' binary forms end to end (`int4send`,
 * `float8send`: big-endian, exact), read with a DataView; the strings as arrays. Arrays of numbers
 * came as text, every double printed by Postgres and parsed back by the driver: listing 100 000
 * detections took 320-350 ms on PGlite and 450-480 on Postgres, 320-360 ms of it on the event
 * loop (node-pg parses each array there), against 131-135 and 161-166 (76-83 on the loop) as bytes
 * (a `.tmp` script, 3 runs each). A range of the primary key (run_id, seq) at a time: the 100 000
 * detections of a run in one statement grew PGlite's memory by 37.5 MB for good
 * (statement-size.ts), 20 000 by 9.8; and a page bounds how long the driver's parse holds the loop.
 * A range, not `seq > ? order by seq limit ?`: right after an upload the planner's statistics do not
 * know the run's rows, and it sorted all the run's remaining rows for every page (Postgres, pages
 * of 2 000: 0.6-0.8 s → 1.1-1.6 s for 100 000; by ranges 0.65-0.72 s).
 * A range with no rows of the run (other runs appended in between) is skipped by NEXT_SEQ_SQL.
 */
const LIST_RANGE_SQL = `
  select string_agg(int4send(frame), ''::bytea order by seq) as frames,
         string_agg(float8send(x) || float8send(y) || float8send(w) || float8send(h) || float8send(score), ''::bytea order by seq) as numbers,
         coalesce(array_agg(label order by seq), '{}') as label,
         coalesce(array_agg(detection_id order by seq), '{}') as detection_id,
         coalesce(array_agg(track_id order by seq), '{}') as track_id
  from detections where run_id = ? and seq > ? and seq <= ? and ${VISIBLE}`;
const NEXT_SEQ_SQL = `select min(seq)::text as next from detections where run_id = ? and seq > ? and ${VISIBLE}`;

/** A page of LIST_RANGE_SQL: `frames` 4 bytes a row, `numbers` 40 (x, y, w, h, score); null for no rows. */
interface Columns {
  frames: Uint8Array | null;
  numbers: Uint8Array | null;
  label: string[];
  detection_id: (string | null)[];
  track_id: (string | null)[];
}

/** The detections of one page, in order. */
function pageRecords(c: Columns, out: DetectionRecord[]): void {
  if (!c.frames || !c.numbers) return;
  const frames = new DataView(c.frames.buffer, c.frames.byteOffset, c.frames.byteLength);
  const numbers = new DataView(c.numbers.buffer, c.numbers.byteOffset, c.numbers.byteLength);
  for (let i = 0; i < c.label.length; i++) {
    const at = i * 40;
    out.push({
      frame: frames.getInt32(i * 4),
      bbox: [numbers.getFloat64(at), numbers.getFloat64(at + 8), numbers.getFloat64(at + 16), numbers.getFloat64(at + 24)],
      label: c.label[i]!,
      score: numbers.getFloat64(at + 32),
      detectionId: c.detection_id[i] ?? null,
      trackId: c.track_id[i] ?? null,
    });
  }
}

export interface DetectionRepositoryOptions {
  knex: Knex;
  /** Awaited after each chunk of a staged upload is written (tests look at the database then). */
  betweenChunks?: () => Promise<void>;
}

/**
 * A box of this upload whose track, label and frame an earlier upload of the run already has: one
 * box per track per frame is what tracking metrics take as given (docs-model/tracking/track-box-keys.ts).
 * Each box probes the index detections_run_track (migrations/20261207_0012). Uploads still being
 * written by others are not looked at: theirs look at this one when they commit, and an upload that
 * became visible between a staged upload's check and its commit is caught by a second check with the
 * run's row locked (`commit`).
 */
const REPEATED_SQL = `
  select n.frame, n.label, n.track_id from detections n
  where n.run_id = ? and n.seq between ? and ? and n.upload_id = ? and n.track_id is not null
    and exists (select 1 from detections o
                where o.run_id = n.run_id and o.track_id is not null and o.track_id = n.track_id and o.frame = n.frame
                  and o.label = n.label and o.upload_id is distinct from n.upload_id
                  and not exists (select 1 from detection_uploads u where u.id = o.upload_id))
  limit 1`;

/** At most this many sequence numbers a statement of the check reads: ~10 000 probes, ~80 ms in PGlite, whose one connection each statement holds. */
const REPEAT_CHECK_SEQS = 10_000n;

type RepeatedBox = { frame: number; label: string; trackId: string };

/** The first box of the upload's rows in `range` that an earlier visible upload of the run has. */
async function findRepeat(db: Knex | Knex.Transaction, runId: string, uploadId: string, range: SeqRange): Promise<RepeatedBox | undefined> {
  for (let lo = range.lo; lo <= range.hi; lo += REPEAT_CHECK_SEQS) {
    const hi = lo + REPEAT_CHECK_SEQS - 1n < range.hi ? lo + REPEAT_CHECK_SEQS - 1n : range.hi;
    const row = ((await db.raw(REPEATED_SQL, [runId, String(lo), String(hi), uploadId])) as { rows: Array<{ frame: number; label: string; track_id: string }> }).rows[0];
    if (row) return { frame: row.frame, label: row.label, trackId: row.track_id };
  }
  return undefined;
}

/** An upload repeats a box (track, label, frame) an earlier upload of the run stored: nothing of it is kept. */
export class RepeatedTrackBoxError extends Error {
  override readonly name = 'RepeatedTrackBoxError';
  readonly runId: string;
  readonly box: RepeatedBox;
  constructor(runId: string, box: RepeatedBox) {
    super(`track '${box.trackId}' already has a '${box.label}' box on frame ${box.frame} in an earlier upload of run '${runId}'`);
    this.runId = runId;
    this.box = box;
  }
}

/** An append as its commit sees it; `checkedAgainst`: the run's count when its rows were checked for repeats, if they were. */
interface Upload {
  runId: string;
  uploadId: string;
  count: number;
  tracked: boolean;
  checkedAgainst?: number | undefined;
}

/** A foreign key violation: the run was deleted after the append looked it up. */
const isMissingRun = (err: unknown): boolean => (err as { code?: string }).code === '23503';

export function createDetectionRepository({ knex, betweenChunks }: DetectionRepositoryOptions): DetectionRepository {
  /**
   * In the transaction that makes an append visible: locks the run, makes the upload visible
   * (`then`, answering the range of its rows), refuses it when it repeats an earlier upload's box,
   * adds to the run's counts.
   */
  async function commit(trx: Knex.Transaction, upload: Upload, then: () => Promise<SeqRange | null>): Promise<AppendResult> {
    const { runId, count } = upload;
    const locked = (await trx('test_runs').where({ id: runId }).forUpdate().first()) as TestRunRow | undefined;
    if (!locked) return null;
    if (TERMINAL_STATUSES.has(locked.status)) return { conflict: 'finished' as const, run: testRunFromRow(locked) };
    const range = await then();
    // The run's first upload has nothing to repeat (its own repeats were refused as it was read);
    // a staged upload checked before this transaction is checked again only when another upload
    // became visible since (the run's count moved).
    const visible = Number(locked.detection_count);
    if (upload.tracked && range && visible > 0 && visible !== upload.checkedAgainst) {
      const repeated = await findRepeat(trx, runId, upload.uploadId, range);
      if (repeated) throw new RepeatedTrackBoxError(runId, repeated);
    }
    const [row] = (await trx('test_runs')
      .where({ id: runId })
      .update({
        detection_count: trx.raw('detection_count + ?', [count]),
        revision: trx.raw('revision + 1'),
        updated_at: trx.fn.now(),
      } as never)
      .returning('*')) as TestRunRow[];
    return { run: testRunFromRow(row as TestRunRow) };
  }

  /** Removes an unfinished upload: its rows, then its row (readers skip its rows until then). */
  async function discard(uploadId: string, runId: string): Promise<void> {
    await knex('detections').where({ run_id: runId, upload_id: uploadId }).delete();
    await knex('detection_uploads').where({ id: uploadId }).delete();
  }

  /**
   * `discard`, its own failure (the database gone) left for the answer's: the rows stay hidden,
   * and the next start sweeps them.
   */
  const discardQuietly = (uploadId: string, runId: string): Promise<void> => discard(uploadId, runId).catch(() => undefined);

  /** The chunks written as an unfinished upload, then made visible at once. */
  async function staged(runId: string, uploadId: string, chunks: Iterable<string>, count: number, tracked: boolean): Promise<AppendResult> {
    const run = (await knex('test_runs').where({ id: runId }).first()) as TestRunRow | undefined;
    if (!run) return null;
    if (TERMINAL_STATUSES.has(run.status)) return { conflict: 'finished' as const, run: testRunFromRow(run) };
    try {
      await knex('detection_uploads').insert({ id: uploadId, run_id: runId });
    } catch (err) {
      if (isMissingRun(err)) return null;
      throw err;
    }
    let result: AppendResult;
    try {
      let range: SeqRange | null = null;
      for (const json of chunks) {
        range = await insertChunk(knex, json, range);
        await betweenChunks?.();
      }
      // Checked outside the commit's transaction, a statement per slice of rows: inside it, the
      // 50 000 probes of a large upload held PGlite's one connection ~0.4 s in one piece.
      let checkedAgainst: number | undefined;
      if (tracked && range) {
        const before = (await knex('test_runs').where({ id: runId }).first('detection_count')) as { detection_count: number | string } | undefined;
        checkedAgainst = Number(before?.detection_count ?? 0);
        const repeated = checkedAgainst > 0 ? await findRepeat(knex, runId, uploadId, range) : undefined;
        if (repeated) throw new RepeatedTrackBoxError(runId, repeated);
      }
      result = await knex.transaction((trx) =>
        commit(trx, { runId, uploadId, count, tracked, checkedAgainst }, async () => {
          await trx('detection_uploads').where({ id: uploadId }).delete();
          return range;
        }),
      );
    } catch (err) {
      await discardQuietly(uploadId, runId);
      throw err;
    }
    if (result === null || 'conflict' in result) await discardQuietly(uploadId, runId);
    return result;
  }

  return {
    async append(runId, detections) {
      const uploadId = randomUUID();
      // In chunks (statement-size.ts): 20 000 detections in one statement grew PGlite's memory by
      // ~24 MB for good; and each chunk's JSON is built between the awaits, not a whole body's at once.
      const chunks = jsonChunks(detections, (d) => toRow(runId, uploadId, d), jsonChunkBytes(knex));
      const first = chunks.next();
      const second = first.done ? first : chunks.next();
      const tracked = detections.some((d) => d.trackId != null);
      if (second.done) {
        // One chunk (or none): its rows carry an upload id no `detection_uploads` row names, and are
        // visible once this transaction commits.
        return knex.transaction((trx) =>
          commit(trx, { runId, uploadId, count: detections.length, tracked }, async () => (first.done ? null : insertChunk(trx, first.value, null))),
        );
      }
      return staged(runId, uploadId, resumed([first.value, second.value], chunks), detections.length, tracked);
    },
    async sweepAbandoned(olderThanMs) {
      const stale = (await knex('detection_uploads')
        .where('created_at', '<', knex.raw(`now() - ? * interval '1 millisecond'`, [olderThanMs]))
        .select('id', 'run_id')) as Array<{ id: string; run_id: string }>;
      for (const upload of stale) await discard(upload.id, upload.run_id);
      return stale.length;
    },
    async list(runId) {
      const out: DetectionRecord[] = [];
      const range = BigInt(readPageRows(knex));
      for (let after = 0n; ; ) {
        const to = after + range;
        const c = ((await knex.raw(LIST_RANGE_SQL, [runId, String(after), String(to)])) as { rows: Columns[] }).rows[0];
        if (c && c.label.length > 0) {
          pageRecords(c, out);
          after = to;
          continue;
        }
        const { next } = ((await knex.raw(NEXT_SEQ_SQL, [runId, String(to)])) as { rows: { next: string | null }[] }).rows[0] ?? { next: null };
        if (next === null) return out;
        after = BigInt(next) - 1n;
      }
    },
    async visibleSet(runId) {
      const row = (await knex('test_runs').where({ id: runId }).first('detection_count', knex.raw('created_at::text as created'))) as
        | { detection_count: number | string; created: string }
        | undefined;
      return { count: Number(row?.detection_count ?? 0), created: row?.created ?? '' };
    },
    async count(runId) {
      const row = (await knex('detections').where({ run_id: runId }).whereRaw(VISIBLE).count({ n: '*' }).first()) as { n: number | string } | undefined;
      return Number(row?.n ?? 0);
    },
  };
}

/** The items already taken from `rest`, then what it has left. */
function* resumed(taken: readonly string[], rest: Iterator<string>): Generator<string> {
  yield* taken;
  for (let next = rest.next(); !next.done; next = rest.next()) yield next.value;
}
