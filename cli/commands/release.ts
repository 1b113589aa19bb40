/**
 * `annosync release`: freezes a session's ground truth (or every session of a project, under
 * one name, in one transaction) as an immutable release with a content hash.
 *
 *   annosync release --session s1 --name v3 --note "after the night-shift review"
 *   annosync release --project p1 --name 2026-12
 */
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { seg } from '../http.ts';
import { formatTable } from '../table.ts';

export interface ReleaseOptions {
  session?: string;
  project?: string;
  name: string;
  note?: string;
}

interface Counts {
  annotations: number;
  tracks: number;
  boxes: number;
}

interface Release {
  id: string;
  sessionId: string;
  name: string;
  contentHash: string;
  counts: Counts;
}

export async function releaseCommand(ctx: Context, o: ReleaseOptions): Promise<void> {
  if ((o.session === undefined) === (o.project === undefined)) throw new UsageError('give exactly one of --session and --project');
  if (o.name.trim() === '') throw new UsageError('--name must not be empty');
  const body = { name: o.name, ...(o.note === undefined ? {} : { note: o.note }) };
  const answer =
    o.session !== undefined
      ? await ctx.api.json<Release>('POST', `/api/sessions/${seg(o.session)}/releases`, body, `release session ${o.session}`)
      : await ctx.api.json<{ batchId: string; name: string; releases: Release[] }>('POST', `/api/projects/${seg(o.project!)}/releases`, body, `release project ${o.project}`);
  if (ctx.json) return ctx.emit(answer);
  const releases = 'releases' in answer ? answer.releases : [answer];
  ctx.out(formatTable(
    ['session', 'release', 'id', 'annotations', 'tracks', 'boxes', 'contentHash'],
    releases.map((r) => [r.sessionId, r.name, r.id, r.counts.annotations, r.counts.tracks, r.counts.boxes, r.contentHash]),
  ));
}
