/**
 * The loss report of an export without producing the export: the same counters the exporters
 * use, over the same frame walk, with no serialisation and no compression. An HTTP response must
 * send `X-Annosync-Loss` before its body (trailers are invisible to fetch and browsers), so the
 * route runs this first pass, then streams. It costs the frame walk for YOLO, VOC and MOT (and for
 * YOLO the formatting of each line, which counts clipping) and nothing that grows with frames
 * otherwise.
 *
 *   const loss = exportLoss('yolo', [content], opts)  // equals the loss.json the export writes
 *   const steps = exportLossSteps('voc', [content], opts)  // the same, one frame per step
 */
import type { ExportOptions, SessionContent } from './content.ts';
import { countCocoLoss } from './coco.ts';
import { labelOrder, walkFrames } from './frame-walk.ts';
import { emptyLoss, type LossReport } from './loss.ts';
import { countMotBoxLoss, countMotSessionLoss } from './mot.ts';
import { countVocBoxLoss, countVocSessionLoss } from './voc.ts';
import { countYoloLoss, countYoloSessionLoss, yoloLine } from './yolo-lines.ts';

export type LossFormat = 'coco' | 'yolo' | 'ultralytics' | 'voc' | 'json' | 'mot';

/** What exporting `sessions` in `format` with `opts` loses; one session for the per-session exporters. */
export const exportLoss = (format: LossFormat, sessions: readonly SessionContent[], opts: ExportOptions = {}): LossReport => {
  const steps = exportLossSteps(format, sessions, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
};

/**
 * `exportLoss` one step at a time: it yields after each frame it walks and after each session, and
 * returns the report. The server runs it in slices between turns of its event loop
 * (server/base/loop-slices.ts): in one piece, the pass over 900 000 boxes held the loop 0.1 s for
 * VOC and 0.7-1.3 s for YOLO (bench/loss-pass.ts), before the export's own first chunk.
 */
export function* exportLossSteps(format: LossFormat, sessions: readonly SessionContent[], opts: ExportOptions = {}): Generator<void, LossReport> {
  const loss = emptyLoss(format);
  for (const content of sessions) {
    switch (format) {
      case 'json':
        break; // the native format holds everything
      case 'coco':
        countCocoLoss(content, loss);
        break;
      case 'yolo':
      case 'ultralytics': {
        countYoloSessionLoss(content, loss);
        const index = new Map(labelOrder(content).map((c, k) => [c, k]));
        const image = { width: content.meta.width, height: content.meta.height, loss };
        for (const { boxes } of walkFrames(content, opts)) {
          for (const b of boxes) {
            countYoloLoss(b, loss);
            yoloLine(index.get(b.label)!, b.bbox, image); // counts clipping; the line is dropped
          }
          yield;
        }
        break;
      }
      case 'mot':
        countMotSessionLoss(content, loss);
        for (const { boxes } of walkFrames(content, opts)) {
          for (const b of boxes) countMotBoxLoss(b, loss);
          yield;
        }
        break;
      case 'voc':
        countVocSessionLoss(content, opts, loss);
        for (const { boxes } of walkFrames(content, opts)) {
          for (const b of boxes) countVocBoxLoss(b, loss);
          yield;
        }
        break;
    }
    yield;
  }
  return loss;
}
