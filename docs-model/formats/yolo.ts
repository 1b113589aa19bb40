/**
 * YOLO 1.1 (Darknet) out, as CVAT writes it: `obj.names`, `obj.data`, `train.txt`
 * listing `data/obj_train_data/<frame>.jpg`, and one `obj_train_data/<frame>.txt` per frame,
 * plus `loss.json`. Streamed as zip chunks, one frame's text at a time. A project export puts
 * each video's frames in its own folder (`obj_train_data/<videoId>/frame_000123.txt`) with one
 * class list for all.
 *
 *   for (const chunk of exportYolo(content, {}, { loss })) res.write(chunk)
 *   for (const chunk of exportYoloProject(sessions, {}, { loss, zip: zipChunksNative })) res.write(chunk)
 */
import type { ExportOptions, ExportSession } from './content.ts';
import { projectLabelOrder, walkFrames } from './frame-walk.ts';
import { frameName } from './frames.ts';
import type { LossReport } from './loss.ts';
import { countYoloLoss, countYoloSessionLoss, yoloLine } from './yolo-lines.ts';
import { singleSessionExport, zipProjectExport } from './zip-export.ts';
import type { ZipEntryInput } from './zip-writer.ts';

/** Where a frame's label file goes: one folder for all, or one per frame (Ultralytics splits). */
export type LabelFolder = string | ((session: ExportSession, frame: number) => string);

/** How label files are written: the report loss is counted in, the class order, where each goes; `listed` collects their names. */
export interface LabelFiles {
  loss: LossReport;
  classes: string[];
  folder: LabelFolder;
  listed: string[];
}

/** One label file per frame (frames with boxes, or all with allFrames), session by session, in frame order. */
export function* yoloLabelFiles(
  sessions: ExportSession[],
  opts: ExportOptions,
  { loss, classes, folder, listed }: LabelFiles,
): Generator<ZipEntryInput> {
  const index = new Map(classes.map((c, k) => [c, k]));
  // A plain folder is the common case: no call per frame for it.
  const fixed = typeof folder === 'string' ? folder : null;
  const perFrame = typeof folder === 'string' ? null : folder;
  for (const session of sessions) {
    const { content, videoPrefix } = session;
    const image = { width: content.meta.width, height: content.meta.height, loss };
    countYoloSessionLoss(content, loss);
    for (const { frame, boxes } of walkFrames(content, opts)) {
      if (!boxes.length && !opts.allFrames) continue;
      let text = '';
      for (const b of boxes) {
        countYoloLoss(b, loss);
        const line = yoloLine(index.get(b.label)!, b.bbox, image);
        if (line !== null) text += line + '\n';
      }
      const name = frameName(frame, videoPrefix);
      listed.push(name);
      yield { name: `${fixed ?? perFrame!(session, frame)}${name}.txt`, data: [text] };
    }
  }
}

export function* yoloEntries(sessions: ExportSession[], opts: ExportOptions, loss: LossReport): Generator<ZipEntryInput> {
  const classes = projectLabelOrder(sessions);
  const ext = opts.imageExt ?? '.jpg';
  const listed: string[] = [];
  yield { name: 'obj.names', data: [classes.join('\n') + '\n'] };
  yield { name: 'obj.data', data: [`classes = ${classes.length}\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n`] };
  yield* yoloLabelFiles(sessions, opts, { loss, classes, folder: 'obj_train_data/', listed });
  // Written after the labels, so the list is known without a second walk (9 000 short names).
  yield { name: 'train.txt', data: [listed.map((n) => `data/obj_train_data/${n}${ext}\n`).join('')] };
  yield { name: 'loss.json', data: [JSON.stringify(loss, null, 2)] };
}

export const exportYoloProject = zipProjectExport('yolo', yoloEntries);

export const exportYolo = singleSessionExport(exportYoloProject);
