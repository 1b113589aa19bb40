/**
 * The two exports every zip format has, built from its entries: a project's sessions in one zip,
 * and one session as a project of one. The loss report and the encoder come in the `ExportTarget`.
 *
 *   export const exportMotProject = zipProjectExport('mot', motEntries)
 *   export const exportMot = singleSessionExport(exportMotProject)
 */
import type { ExportOptions, ExportSession, ExportTarget, SessionContent } from './content.ts';
import { emptyLoss, type LossReport } from './loss.ts';
import { zipChunks, type ZipEntryInput } from './zip-writer.ts';

/** A zip format's entries for some sessions, counting what the format loses into `loss`. */
export type ZipEntries = (sessions: ExportSession[], opts: ExportOptions, loss: LossReport) => Iterable<ZipEntryInput>;

export type ProjectExport = (sessions: ExportSession[], opts?: ExportOptions, target?: ExportTarget) => Iterable<Uint8Array>;
export type SessionExport = (content: SessionContent, opts?: ExportOptions, target?: ExportTarget) => Iterable<Uint8Array>;

/** The entries packed with the target's encoder (fflate's by default), counted into its report (a fresh one by default). */
export const zipProjectExport =
  (format: string, entries: ZipEntries): ProjectExport =>
  (sessions, opts = {}, { loss = emptyLoss(format), zip = zipChunks } = {}) =>
    zip(entries(sessions, opts, loss));

/** One session through the project export, its frame names prefixed by `opts.videoPrefix` (none by default). */
export const singleSessionExport =
  (project: ProjectExport): SessionExport =>
  (content, opts = {}, target = {}) =>
    project([{ content, videoPrefix: opts.videoPrefix ?? '' }], opts, target);
