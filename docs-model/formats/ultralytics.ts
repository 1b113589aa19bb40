/**
 * Ultralytics YOLO out: `data.yaml` with `names` as an index map, and
 * `labels/train/<frame>.txt` (images go in `images/train/`, which the user fills from the video),
 * plus `loss.json`. The same label lines as Darknet. A project export puts each video in its own
 * folder (`labels/train/<videoId>/…`); Ultralytics finds labels by swapping `images` for `labels`
 * in the image path, so nested folders work.
 *
 * With `opts.splits` (valFraction/testFraction above 0) the labels go to `labels/<split>/` and
 * data.yaml names `images/val` and `images/test`: whole videos per split, or contiguous blocks of
 * one video (splits.ts), so that neighbouring frames do not leak across splits.
 *
 *   for (const chunk of exportUltralytics(content, {}, { loss })) res.write(chunk)
 *   for (const chunk of exportUltralytics(content, { splits: { valFraction: 0.1, testFraction: 0.1 } })) …
 */
import type { ExportOptions, ExportSession } from './content.ts';
import { projectLabelOrder } from './frame-walk.ts';
import type { LossReport } from './loss.ts';
import { describeSplits, planSplits, splitOf, type SplitPlan } from './splits.ts';
import { yoloLabelFiles } from './yolo.ts';
import { singleSessionExport, zipProjectExport } from './zip-export.ts';
import type { ZipEntryInput } from './zip-writer.ts';

const TRAIN_ONLY = ['# annosync export: put the frames in images/train/ (frame_000000.jpg …)', 'path: .', 'train: images/train', 'val: images/train'];

const splitHeader = (plan: SplitPlan): string[] => [
  '# annosync export: put each frame in images/<split>/, the split whose labels/<split>/ holds its label file (frame_000000.jpg …)',
  `# splits: ${describeSplits(plan)}`,
  'path: .',
  'train: images/train',
  `val: images/${plan.used.includes('val') ? 'val' : 'train'}`,
  ...(plan.used.includes('test') ? ['test: images/test'] : []),
];

/** Without a plan, the train-only file of every export before splits, byte for byte. */
export const dataYaml = (classes: string[], plan: SplitPlan | null = null): string =>
  [
    ...(plan ? splitHeader(plan) : TRAIN_ONLY),
    `nc: ${classes.length}`,
    'names:',
    // JSON strings are valid YAML double-quoted scalars, so any label name survives.
    ...classes.map((c, k) => `  ${k}: ${JSON.stringify(c)}`),
    '',
  ].join('\n');

/** The split plan `opts` asks for, or null for the train-only layout (no fraction above 0). */
const planFor = (sessions: ExportSession[], opts: ExportOptions): SplitPlan | null => {
  const f = opts.splits;
  if (!f || (f.valFraction === 0 && f.testFraction === 0)) return null;
  return planSplits(sessions.map(({ content }) => ({ videoId: content.meta.videoId, frameCount: content.meta.frameCount })), f);
};

export function* ultralyticsEntries(sessions: ExportSession[], opts: ExportOptions, loss: LossReport): Generator<ZipEntryInput> {
  const classes = projectLabelOrder(sessions);
  const plan = planFor(sessions, opts);
  yield { name: 'data.yaml', data: [dataYaml(classes, plan)] };
  // The folders data.yaml points at, empty: the frames come from the video, named as the labels.
  for (const split of plan?.used ?? ['train']) yield { name: `images/${split}/`, data: [], store: true };
  const folder = plan ? (s: ExportSession, frame: number): string => `labels/${splitOf(plan, s.content.meta.videoId, frame)}/` : 'labels/train/';
  yield* yoloLabelFiles(sessions, opts, { loss, classes, folder, listed: [] });
  yield { name: 'loss.json', data: [JSON.stringify(loss, null, 2)] };
}

export const exportUltralyticsProject = zipProjectExport('ultralytics', ultralyticsEntries);

export const exportUltralytics = singleSessionExport(exportUltralyticsProject);
