/**
 * `annosync export`: a session (or a project) as one file in a format, live or as a release.
 *
 *   annosync export --session s1 --format coco -o gt.json
 *   annosync export --session s1 --format yolo --release v3 -o gt.zip
 *   annosync export --project p1 --format json --release v3 -o - > all.json
 */
import { createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { seg } from '../http.ts';
import { projectRelease, sessionRelease } from '../releases.ts';

/** The server's formats (docs/formats.md); `mot` is CVAT's MOT 1.1 zip, as TrackEval and py-motmetrics read it. */
export const EXPORT_FORMATS = ['coco', 'yolo', 'ultralytics', 'voc', 'mot', 'json'] as const;

export interface ExportOptions {
  session?: string;
  project?: string;
  format: (typeof EXPORT_FORMATS)[number];
  release?: string;
  output: string;
  keyframesOnly?: boolean;
  allFrames?: boolean;
}

export async function exportCommand(ctx: Context, o: ExportOptions): Promise<void> {
  if ((o.session === undefined) === (o.project === undefined)) throw new UsageError('give exactly one of --session and --project');
  const query = new URLSearchParams({ format: o.format });
  if (o.keyframesOnly) query.set('keyframesOnly', 'true');
  if (o.allFrames) query.set('allFrames', 'true');
  let path: string;
  if (o.session !== undefined) {
    const base = `/api/sessions/${seg(o.session)}`;
    path = o.release === undefined ? `${base}/export` : `${base}/releases/${seg((await sessionRelease(ctx.api, o.session, o.release)).id)}/export`;
  } else {
    const base = `/api/projects/${seg(o.project!)}`;
    path = o.release === undefined ? `${base}/export` : `${base}/releases/${seg((await projectRelease(ctx.api, o.project!, o.release)).batchId)}/export`;
  }
  const what = `export ${o.session !== undefined ? `session ${o.session}` : `project ${o.project}`}${o.release === undefined ? '' : ` release ${o.release}`}`;
  const res = await ctx.api.request('GET', `${path}?${query}`, { what });
  const toStdout = o.output === '-';
  let bytes = 0;
  const counter = async function* (source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      bytes += chunk.byteLength;
      yield chunk;
    }
  };
  const sink: Writable = toStdout ? (ctx.io.stdout as Writable) : createWriteStream(o.output);
  const body = res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
  try {
    await pipeline(body, counter, sink, { end: !toStdout });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && !toStdout) throw new UsageError(`cannot write ${o.output}: ${code}`);
    throw err;
  }
  const summary = { file: toStdout ? null : o.output, bytes, format: o.format, release: o.release ?? null, loss: res.headers.get('x-annosync-loss') };
  if (ctx.json && !toStdout) ctx.emit(summary);
  else (toStdout ? ctx.note : ctx.out)(`wrote ${toStdout ? 'stdout' : o.output}: ${bytes} bytes of ${o.format}${o.release ? ` (release ${o.release})` : ''}${summary.loss ? `; loss: ${summary.loss}` : ''}`);
}
