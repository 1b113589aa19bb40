/**
 * YOLO 1.1 (Darknet) out, as CVAT writes it (issue 4): `obj.names`, `obj.data`, `train.txt`
 * listing `data/obj_train_data/<frame>.jpg`, and one `obj_train_data/<frame>.txt` per frame,
 * plus `loss.json`. Streamed as zip chunks, one frame's text at a time.
 *
 *   for (const chunk of exportYolo(content, {}, loss)) res.write(chunk)
 */
import type { ExportOptions, SessionContent } from './content.ts';
import { labelOrder, walkFrames } from './frame-walk.ts';
import { frameName } from './frames.ts';
import { emptyLoss, type LossReport } from './loss.ts';
import { countYoloLoss, countYoloSessionLoss, yoloLine } from './yolo-lines.ts';
import { zipChunks, type ZipEntryInput } from './zip-writer.ts';

/** One label file per frame (frames with boxes, or all with allFrames), in frame order. */
export function* yoloLabelFiles(
  content: SessionContent,
  opts: ExportOptions,
  loss: LossReport,
  classes: string[],
  folder: string,
  listed: string[],
): Generator<ZipEntryInput> {
  const index = new Map(classes.map((c, k) => [c, k]));
  const { width, height } = content.meta;
  countYoloSessionLoss(content, loss);
  for (const { frame, boxes } of walkFrames(content, opts)) {
    if (!boxes.length && !opts.allFrames) continue;
    const lines: string[] = [];
    for (const b of boxes) {
      countYoloLoss(b, loss);
      const line = yoloLine(index.get(b.label)!, b.bbox, width, height, loss);
      if (line !== null) lines.push(line);
    }
    const name = frameName(frame, opts.videoPrefix ?? '');
    listed.push(name);
    yield { name: `${folder}${name}.txt`, data: [lines.length ? lines.join('\n') + '\n' : ''] };
  }
}

export function* exportYolo(content: SessionContent, opts: ExportOptions = {}, loss: LossReport = emptyLoss('yolo')): Generator<Uint8Array> {
  const classes = labelOrder(content);
  const ext = opts.imageExt ?? '.jpg';
  const listed: string[] = [];
  function* entries(): Generator<ZipEntryInput> {
    yield { name: 'obj.names', data: [classes.join('\n') + '\n'] };
    yield { name: 'obj.data', data: [`classes = ${classes.length}\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n`] };
    yield* yoloLabelFiles(content, opts, loss, classes, 'obj_train_data/', listed);
    // Written after the labels, so the list is known without a second walk (9 000 short names).
    yield { name: 'train.txt', data: [listed.map((n) => `data/obj_train_data/${n}${ext}\n`).join('')] };
    yield { name: 'loss.json', data: [JSON.stringify(loss, null, 2)] };
  }
  yield* zipChunks(entries());
}
