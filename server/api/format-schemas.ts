/**
 * Query and answer schemas of the export/import routes, apart from schemas.ts so that
 * the formats work does not collide with other resources. Query booleans take true/false/1/0.
 *
 *   ExportQuery.parse({ format: 'voc', vocOffset: '1' }) // → { format: 'voc', vocOffset: 1, … }
 */
import { z } from 'zod';
import 'zod-openapi';

const FORMAT_NAMES = ['coco', 'yolo', 'ultralytics', 'voc', 'mot', 'json'] as const;

const QueryBool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional();

const VocOffset = z
  .enum(['0', '1'])
  .transform((v) => (v === '1' ? 1 : 0) as 0 | 1)
  .optional()
  .meta({ description: 'VOC only: 0 (default) xmin = x as CVAT, Datumaro and FiftyOne; 1 the devkit’s 1-based pixels' });

/** A share of the frames or videos: a plain decimal (`0.1`, `.25`), 0 ≤ f < 1. */
const Fraction = z
  .string()
  .regex(/^(?:\d+(?:\.\d*)?|\.\d+)$/, 'must be a decimal number, 0 ≤ f < 1')
  .transform(Number)
  .pipe(z.number().lt(1, 'must be below 1'))
  .optional();

const SPLIT_RULE =
  'Ultralytics only. Two or more videos: whole videos per split (ordered by FNV-1a hash of the video id, round(n × fraction) of them, at least 1); ' +
  'one video: contiguous blocks, train first, then val, then test at the end. valFraction + testFraction < 1; default 0.';

export const ExportQuery = z
  .object({
    format: z.enum(FORMAT_NAMES).meta({ description: 'coco and json answer JSON; yolo, ultralytics, voc and mot (MOTChallenge, CVAT MOT 1.1) a zip' }),
    keyframesOnly: QueryBool.meta({ description: 'only what people drew, no interpolated boxes' }),
    allFrames: QueryBool.meta({ description: 'every frame, also those without boxes' }),
    vocOffset: VocOffset,
    report: QueryBool.meta({ description: 'answer the full loss report (JSON) instead of the file' }),
    valFraction: Fraction.meta({ description: `share for labels/val and images/val. ${SPLIT_RULE}` }),
    testFraction: Fraction.meta({ description: `share for labels/test and images/test, taken last. ${SPLIT_RULE}` }),
  })
  .superRefine((q, ctx) => {
    const given = (['valFraction', 'testFraction'] as const).filter((k) => q[k] !== undefined);
    // Runs even when a fraction failed its own check (then it may not be a number): add nothing to that.
    const fraction = (v: unknown): number | null => (v === undefined ? 0 : typeof v === 'number' && v < 1 ? v : null);
    const [val, test] = [fraction(q.valFraction), fraction(q.testFraction)];
    if (given.length && q.format !== 'ultralytics') {
      ctx.addIssue({ code: 'custom', path: [given[0]!], message: `splits are for format=ultralytics only, not ${q.format}` });
    } else if (val !== null && test !== null && val + test >= 1) {
      ctx.addIssue({ code: 'custom', path: ['testFraction'], message: 'valFraction + testFraction must be below 1 (train keeps the rest)' });
    }
  });

/** Project exports take the same options; every format puts all sessions in one file, frames named <videoId>/frame_NNNNNN. */
export const ProjectExportQuery = ExportQuery;

export const ImportQuery = z.object({
  format: z.enum(FORMAT_NAMES),
  mode: z.enum(['merge', 'replace']).default('merge').meta({
    description: 'merge upserts by annotation id (or track id + frame); replace swaps the content in one transaction',
  }),
  dryRun: QueryBool.meta({ description: 'validate and count without changing the session' }),
  strictLabels: QueryBool.meta({ description: 'refuse labels the session does not have instead of adding them' }),
  vocOffset: VocOffset,
});

export const FormatProblem = z
  .object({ code: z.string(), message: z.string(), place: z.string().meta({ description: 'file:line, or a JSON pointer' }) })
  .meta({ id: 'FormatProblem' });

export const ImportAnswer = z
  .object({
    format: z.enum(FORMAT_NAMES),
    mode: z.enum(['merge', 'replace']),
    dryRun: z.boolean(),
    frameRule: z.enum(['frame_id', 'file_name_number', 'name_order', 'native']),
    imported: z.number().int().meta({ description: 'annotations created' }),
    updated: z.number().int(),
    skipped: z.number().int().meta({ description: 'annotations already identical' }),
    deleted: z.number().int().meta({ description: 'annotations removed (replace)' }),
    tracks: z.object({ created: z.number().int(), updated: z.number().int(), deleted: z.number().int() }),
    labelsAdded: z.array(z.string()),
    warnings: z.array(FormatProblem),
    errors: z.array(FormatProblem),
  })
  .meta({ id: 'ImportAnswer' });

export const LossReportBody = z
  .object({
    format: z.string(),
    tracksFlattened: z.number(),
    trackFieldsDropped: z.number(),
    attributesDropped: z.number(),
    statusesDropped: z.number(),
    fieldsDropped: z.number(),
    outsideKeyframes: z.number(),
    boxesClipped: z.number(),
    roundingBoundPx: z.number(),
    metaDropped: z.boolean(),
    notes: z.array(z.string()),
    idMap: z
      .object({ tracks: z.record(z.string(), z.number().int()), boxes: z.record(z.string(), z.number().int()) })
      .optional()
      .meta({ description: 'mot only: the MOT id each track, and each box in no track, was written with' }),
    summary: z.string().meta({ description: 'the X-Annosync-Loss line' }),
  })
  .meta({ id: 'LossReport' });
