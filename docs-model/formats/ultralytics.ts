/**
 * Ultralytics YOLO out (issue 4): `data.yaml` with `names` as an index map, and
 * `labels/train/<frame>.txt` (images go in `images/train/`, which the user fills from the video),
 * plus `loss.json`. The same label lines as Darknet. A project export puts each video in its own
 * folder (`labels/train/<videoId>/…`); Ultralytics finds labels by swapping `images` for `labels`
 * in the image path, so nested folders work.
 *
 *   for (const chunk of exportUltralytics(content, {}, loss)) res.write(chunk)
 */
import type { ExportOptions, ExportSession, SessionContent, ZipEncoder } from './content.ts';
import { projectLabelOrder } from './frame-walk.ts';
import { emptyLoss, type LossReport } from './loss.ts';
import { yoloLabelFiles } from './yolo.ts';
import { zipChunks, type ZipEntryInput } from './zip-writer.ts';

export const dataYaml = (classes: string[]): string =>
  [
    '# annosync export: put the frames in images/train/ (frame_000000.jpg …)',
    'path: .',
    'train: images/train',
    'val: images/train',
    `nc: ${classes.length}`,
    'names:',
    // JSON strings are valid YAML double-quoted scalars, so any label name survives.
    ...classes.map((c, k) => `  ${k}: ${JSON.stringify(c)}`),
    '',
  ].join('\n');

export function* ultralyticsEntries(sessions: ExportSession[], opts: ExportOptions, loss: LossReport): Generator<ZipEntryInput> {
  const classes = projectLabelOrder(sessions);
  yield { name: 'data.yaml', data: [dataYaml(classes)] };
  // The folder data.yaml points at, empty: the frames come from the video, named as the labels.
  yield { name: 'images/train/', data: [], store: true };
  yield* yoloLabelFiles(sessions, opts, loss, classes, 'labels/train/', []);
  yield { name: 'loss.json', data: [JSON.stringify(loss, null, 2)] };
}

export const exportUltralyticsProject = (
  sessions: ExportSession[],
  opts: ExportOptions = {},
  loss: LossReport = emptyLoss('ultralytics'),
  zip: ZipEncoder = zipChunks,
): Iterable<Uint8Array> => zip(ultralyticsEntries(sessions, opts, loss));

export const exportUltralytics = (content: SessionContent, opts: ExportOptions = {}, loss: LossReport = emptyLoss('ultralytics'), zip: ZipEncoder = zipChunks): Iterable<Uint8Array> =>
  exportUltralyticsProject([{ content, videoPrefix: opts.videoPrefix ?? '' }], opts, loss, zip);
