/**
 * The format registry the export/import routes use: one entry per `?format=`, with the
 * content types and file name the response needs.
 *
 *   const f = formats[format]
 *   const loss = emptyLoss(format)
 *   ctx.type = f.contentType; ctx.attachment(f.fileName(sessionId))
 *   for (const chunk of f.export(content, opts, { loss })) res.write(chunk)
 *   // headers go first: the route takes the summary from a cheap first pass (loss-pass.ts)
 *   res.setHeader('X-Annosync-Loss', lossSummary(exportLoss(format, [content], opts)))
 *   const { content, warnings, errors, frameRule } = f.parse(body, ctx)
 */
import type { ExportOptions, ExportSession, ExportTarget, ImportContext, ImportResult, SessionContent } from './content.ts';
import { exportCoco, exportCocoProject } from './coco.ts';
import { parseCoco } from './coco-import.ts';
import { exportMot, exportMotProject } from './mot.ts';
import { parseMot } from './mot-import.ts';
import { exportNativeJson, exportNativeProject, parseNativeJson } from './native-json.ts';
import { exportUltralytics, exportUltralyticsProject } from './ultralytics.ts';
import { exportVoc, exportVocProject, parseVoc } from './voc.ts';
import { exportYolo, exportYoloProject } from './yolo.ts';
import { parseYolo } from './yolo-import.ts';

export interface FormatEntry {
  /** Response content type of an export. */
  contentType: string;
  /** Request content types an import accepts. */
  importTypes: string[];
  /** The export's Content-Disposition file name. */
  fileName: (base: string) => string;
  export: (content: SessionContent, opts: ExportOptions, target: ExportTarget) => Iterable<Uint8Array>;
  /** Several sessions in one file, frame names prefixed per session (`videoPrefix`) so they never collide. */
  exportProject: (sessions: ExportSession[], opts: ExportOptions, target: ExportTarget) => Iterable<Uint8Array>;
  parse: (input: Uint8Array, ctx: ImportContext) => ImportResult;
  /** True when the export is a zip (a `loss.json` goes inside; the target's `zip` chooses the encoder). */
  zip: boolean;
}

export type FormatName = 'coco' | 'yolo' | 'ultralytics' | 'voc' | 'mot' | 'json';

export const formats: Record<FormatName, FormatEntry> = {
  coco: {
    contentType: 'application/json',
    importTypes: ['application/json'],
    fileName: (b) => `${b}-coco.json`,
    export: exportCoco,
    exportProject: (sessions, opts, target) => exportCocoProject(sessions, opts, target),
    parse: parseCoco,
    zip: false,
  },
  yolo: {
    contentType: 'application/zip',
    importTypes: ['application/zip'],
    fileName: (b) => `${b}-yolo.zip`,
    export: exportYolo,
    exportProject: exportYoloProject,
    parse: parseYolo,
    zip: true,
  },
  ultralytics: {
    contentType: 'application/zip',
    importTypes: ['application/zip'],
    fileName: (b) => `${b}-ultralytics.zip`,
    export: exportUltralytics,
    exportProject: exportUltralyticsProject,
    parse: parseYolo, // one importer recognises both layouts
    zip: true,
  },
  voc: {
    contentType: 'application/zip',
    importTypes: ['application/zip', 'application/xml', 'text/xml'],
    fileName: (b) => `${b}-voc.zip`,
    export: exportVoc,
    exportProject: exportVocProject,
    parse: parseVoc,
    zip: true,
  },
  mot: {
    contentType: 'application/zip',
    // A zip as CVAT's MOT 1.1 writes it, or a bare gt.txt / det.txt.
    importTypes: ['application/zip', 'text/plain'],
    fileName: (b) => `${b}-mot.zip`,
    // gt.txt is one entry of ~40 MB for 900 000 boxes: the encoder must stream it (fflate does, and
    // the server's node:zlib writer streams entries past 8 MiB; bench/tracking.ts).
    export: exportMot,
    exportProject: exportMotProject,
    parse: parseMot,
    zip: true,
  },
  json: {
    contentType: 'application/json',
    importTypes: ['application/json'],
    fileName: (b) => `${b}-annosync.json`,
    export: exportNativeJson,
    exportProject: (sessions, opts, target) => exportNativeProject(sessions, opts, target),
    parse: parseNativeJson,
    zip: false,
  },
};

export const isFormatName = (v: string): v is FormatName => Object.hasOwn(formats, v);

export type { ExportOptions, ExportSession, ExportTarget, FrameRule, ImportContext, ImportedAnnotation, ImportedContent, ImportResult, SessionContent, ZipEncoder } from './content.ts';
export { exportCocoProject } from './coco.ts';
export { exportNativeProject } from './native-json.ts';
export { exportMot, exportMotProject, motIdMap, MOT_ATTRIBUTES, type MotIdMap } from './mot.ts';
export { parseMot, parseMotDetections, readMotRows, MOT_CLASSES, type MotDetection, type MotDetectionsContext, type MotRow } from './mot-import.ts';
export { walkFrames, labelOrder, projectLabelOrder, type ExportBox, type FrameBoxes } from './frame-walk.ts';
export { frameName, frameFromName, mapFrames } from './frames.ts';
export { emptyLoss, lossSummary, isLossless, type LossReport } from './loss.ts';
export { exportLoss, exportLossSteps } from './loss-pass.ts';
export { InputTooLargeError, UnsafeInputError, type Problem } from './problems.ts';
export { parseSafeJson, SAFE_JSON_DEFAULTS, type SafeJsonLimits } from './safe-json.ts';
export { parseSafeXml, SAFE_XML_DEFAULTS, type SafeXmlLimits, type SafeXmlOptions } from './safe-xml.ts';
export { readZip, SAFE_ZIP_DEFAULTS, type SafeZipLimits } from './safe-zip.ts';
export { planSplits, splitOf, splitCounts, describeSplits, fnv1a32, type SplitFractions, type SplitName, type SplitPlan, type SplitVideo } from './splits.ts';
export { zipChunks, collect, type ZipEntryInput } from './zip-writer.ts';
