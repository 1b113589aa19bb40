/**
 * `annosync import`: a file into a session, all or nothing. A refusal (422) prints every located
 * problem the server found, one per line on stderr, and exits 1.
 *
 *   annosync import --session s1 --format coco gt.json --mode replace --dry-run
 *   annosync import --session s1 --format mot gt.txt      # or CVAT's MOT 1.1 zip
 */
import { readFile } from 'node:fs/promises';
import { looksLikeZip } from '../../docs-model/formats/safe-zip.ts';
import type { Context } from '../context.ts';
import { ImportRefusedError, ServerError, UsageError, type Diagnostic } from '../errors.ts';
import { seg } from '../http.ts';
import { EXPORT_FORMATS } from './export.ts';

export interface ImportOptions {
  session: string;
  format: (typeof EXPORT_FORMATS)[number];
  mode: 'merge' | 'replace';
  dryRun?: boolean;
  strictLabels?: boolean;
}

interface ImportAnswer {
  dryRun: boolean;
  imported: number;
  updated: number;
  skipped: number;
  deleted: number;
  tracks: { created: number; updated: number; deleted: number };
  labelsAdded: string[];
  warnings: Diagnostic[];
}

/** MOT comes as CVAT's zip or as a bare `gt.txt` (text/plain), told apart by the zip's first bytes. */
const contentTypeOf = (format: ImportOptions['format'], file: string, body: Uint8Array): string => {
  if (format === 'coco' || format === 'json') return 'application/json';
  if (format === 'voc' && /\.xml$/i.test(file)) return 'application/xml';
  if (format === 'mot' && !looksLikeZip(body)) return 'text/plain';
  return 'application/zip';
};

export async function readInputFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export async function importCommand(ctx: Context, file: string, o: ImportOptions): Promise<void> {
  const body = await readInputFile(file);
  const query = new URLSearchParams({ format: o.format, mode: o.mode });
  if (o.dryRun) query.set('dryRun', 'true');
  if (o.strictLabels) query.set('strictLabels', 'true');
  let answer: ImportAnswer;
  try {
    const res = await ctx.api.request('POST', `/api/sessions/${seg(o.session)}/import?${query}`, {
      body: new Uint8Array(body),
      contentType: contentTypeOf(o.format, file, body),
      what: `import ${file} into session ${o.session}`,
    });
    answer = (await res.json()) as ImportAnswer;
  } catch (err) {
    if (err instanceof ServerError && err.status === 422) {
      const diagnostics = Array.isArray(err.details) ? (err.details as Diagnostic[]) : [];
      if (ctx.json) ctx.emit({ error: { code: err.code, message: err.message, details: diagnostics } });
      for (const d of diagnostics) ctx.note(`${file}: ${d.place}: ${d.message} (${d.code})`);
      throw new ImportRefusedError(`${file} was not imported: ${diagnostics.length} problem(s)`, diagnostics);
    }
    throw err;
  }
  if (ctx.json) return ctx.emit(answer);
  for (const w of answer.warnings) ctx.note(`${file}: warning: ${w.place}: ${w.message} (${w.code})`);
  const t = answer.tracks;
  ctx.out(
    `${answer.dryRun ? 'dry run, nothing changed: would import' : 'imported'} ${answer.imported}, updated ${answer.updated}, unchanged ${answer.skipped}, deleted ${answer.deleted}; ` +
      `tracks +${t.created} ~${t.updated} -${t.deleted}${answer.labelsAdded.length ? `; labels added: ${answer.labelsAdded.join(', ')}` : ''}`,
  );
}
