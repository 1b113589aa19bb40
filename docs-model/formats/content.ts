/**
 * The plain content the converters read and write. Exports read a `SessionContent` (a snapshot of
 * one session document); imports produce an `ImportedContent` that the route validates and applies
 * in one transaction.
 */
import type { LabelDef, SessionMeta, Track } from '../types.ts';
import type { AnnotationImport, SessionContent as DocSessionContent } from '../session.ts';
import type { LossReport } from './loss.ts';
import type { Problem } from './problems.ts';
import type { SplitFractions } from './splits.ts';
import type { ZipEntryInput } from './zip-writer.ts';

/** A session as `readSession` gives it, with its meta (exports need width, height, frameCount). */
export type SessionContent = Omit<DocSessionContent, 'meta'> & { meta: SessionMeta };

/** An annotation as imported (fits `writeSession`): always an id, and the same file gives the same ids. */
export type ImportedAnnotation = AnnotationImport & { id: string };

export interface ImportedContent {
  /** Every label the imported content uses (with known definitions where the file had them). */
  labels: Record<string, LabelDef>;
  /** Labels that were not in `ImportContext.labels`: added (warned) or, with strictLabels, refused. */
  addedLabels: string[];
  tracks: Track[];
  annotations: ImportedAnnotation[];
  /** Only the native format carries meta; the route decides what of it to apply. */
  meta?: Partial<SessionMeta>;
}

/** How images were mapped to frames: COCO-VID frame_id, a number in every name, name order. */
export type FrameRule = 'frame_id' | 'file_name_number' | 'name_order' | 'native';

export interface ImportResult {
  content: ImportedContent;
  warnings: Problem[];
  errors: Problem[];
  frameRule: FrameRule;
}

export interface ImportContext {
  /** The session's meta; YOLO needs width/height, track rebuilding needs frameCount. */
  meta?: Partial<SessionMeta>;
  /** The session's labels: anything else is added and reported, or refused with strictLabels. */
  labels?: Record<string, LabelDef>;
  strictLabels?: boolean;
  /** VOC only: 1 when the file uses the devkit's 1-based pixel convention. Default 0. */
  vocOffset?: 0 | 1;
}

export interface ExportOptions {
  /** Only what people drew (keyframes and standalone boxes), no interpolated boxes. */
  keyframesOnly?: boolean;
  /** Every frame of the video, also those without boxes (COCO images, YOLO empty txt, VOC XML). */
  allFrames?: boolean;
  /** VOC only: 0 writes xmin = x (CVAT, Datumaro, FiftyOne); 1 the devkit's 1-based convention. */
  vocOffset?: 0 | 1;
  /** Project-level exports: prepended to every frame name so names of videos never collide. */
  videoPrefix?: string;
  /** Image file extension in names and lists. Default '.jpg'. */
  imageExt?: string;
  /** Ultralytics only: train/val/test by whole videos, or by contiguous blocks of one video (splits.ts). */
  splits?: SplitFractions;
}

/** One session of an export, and the prefix its frame names carry (project exports: `<videoId>/`). */
export interface ExportSession {
  content: SessionContent;
  videoPrefix: string;
}

/** Where an export counts what it loses, and how a zip format packs its entries. */
export interface ExportTarget {
  /** Filled in while the export runs; a fresh report for this export when left out. */
  loss?: LossReport;
  /** Zip formats only: the encoder, fflate's `zipChunks` when left out. */
  zip?: ZipEncoder;
}

/** Turns zip entries into zip bytes: fflate in docs-model (browser-safe); the server passes node:zlib's. */
export type ZipEncoder = (entries: Iterable<ZipEntryInput>) => Iterable<Uint8Array>;
