/**
 * Ground-truth releases (docs/releases.md): a session's content frozen once everything it received
 * is committed, hashed over its canonical form, counted and stored as an immutable row; a project
 * release is one per session under one name, in one transaction. The `session.released` event is
 * stored in the release's transaction. Exports and diffs read the frozen content.
 *
 *   const release = await releases.createForSession(session, { name: 'v1' }, actor)
 *   const content = await releases.content(release.id)     // what every export of the release reads
 *   const { release, created } = await releases.forRun(session, undefined, actor)  // auto-<timestamp>
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { releaseCounts, type ReleaseContent, type ReleaseCounts } from '../../docs-model/release-content.ts';
import { diffReleaseSteps, type DiffOptions, type ReleaseDiff } from '../../docs-model/release-diff.ts';
import type { Page } from '../../persistence/page.ts';
import {
  ReleaseInUseError,
  ReleaseNameTakenError,
  type NewRelease,
  type ReleaseBatch,
  type ReleaseRecord,
  type ReleasesRepository,
} from '../../persistence/repositories/releases.ts';
import type { SessionRecord } from '../../persistence/rows.ts';
import { ConflictError, NotFoundError, ValidationError, toAppError } from '../base/errors.ts';
import { finishInSlices } from '../base/loop-slices.ts';
import type { DocRegistry } from '../documents/doc-registry.ts';
import type { Projection } from '../followers/projection.ts';
import type { EventSink } from './event-sink.ts';
import { paged } from './records.ts';
import type { SessionRepository } from '../../persistence/repositories/sessions.ts';
import { sessionDocName, snapshotSessionDoc } from './session-documents.ts';
import type { GroundTruthWorker } from './ground-truth-worker.ts';
import { decodeReleaseText } from './release-text.ts';

/** A release as the REST API sends it (the stored size stays inside). */
export type ReleaseBody = Omit<ReleaseRecord, 'contentBytes'>;

export interface ProjectReleaseBody extends ReleaseBatch {
  releases: ReleaseBody[];
}

export interface Frozen {
  content: ReleaseContent;
  contentHash: string;
  counts: ReleaseCounts;
  /** The content as the database stores it. */
  stored: Uint8Array;
}

export const toReleaseBody = ({ contentBytes: _bytes, ...release }: ReleaseRecord): ReleaseBody => release;

/** Decoded contents kept: releases never change, and an evaluation or diff reads the same one again. */
const CONTENT_CACHE = 8;

export interface ReleaseServiceDeps {
  releases: ReleasesRepository;
  sessions: SessionRepository;
  registry: DocRegistry;
  /** Its read index: the annotations of a freeze, plain data already. */
  projection: Projection;
  sink: EventSink;
  /** Hashes and encodes frozen content off the event loop. */
  worker: Pick<GroundTruthWorker, 'seal'>;
}

const noMeta = (sessionId: string): ConflictError =>
  new ConflictError(`session '${sessionId}' has no video meta yet: nothing to release`, [{ field: 'sessionId', code: 'no_meta', message: 'the session has no video meta' }], 'no_meta');

const nameTaken = (err: ReleaseNameTakenError): ConflictError =>
  new ConflictError(err.message, [{ field: 'name', code: 'taken', message: `session '${err.sessionId}' has a release named '${err.releaseName}'` }], 'release_name_taken');

export function createReleaseService(deps: ReleaseServiceDeps) {
  const { releases, registry, sink } = deps;
  const cache = new Map<string, ReleaseContent>();

  /**
   * The session's content, read in one synchronous read of its live document (session-documents.ts
   * `snapshotSessionDoc`). `committed`: read once every update the document received is committed
   * (docs/architecture.md, "Durability"), and answer once every update the content holds is
   * committed too, so a release never holds an edit a crash could still lose; updates commit in
   * order, so the latest commit covers all that came before it. A staged change that took the
   * document during those waits is waited for, and the document read again.
   */
  async function snapshot(session: SessionRecord, { committed }: { committed: boolean }): Promise<ReleaseContent> {
    const name = sessionDocName(session);
    for (;;) {
      const doc = await registry.acquireIdle(name);
      try {
        if (committed) await doc.lastCommit;
        const read = await snapshotSessionDoc(deps, doc);
        if (read === null) continue;
        if (!read.meta) throw noMeta(session.id);
        if (committed) await doc.lastCommit;
        return { ...read, meta: read.meta };
      } finally {
        registry.release(doc);
      }
    }
  }

  async function freeze(session: SessionRecord): Promise<Frozen> {
    const content = await snapshot(session, { committed: true });
    const { contentHash, stored } = await deps.worker.seal(content);
    return { content, contentHash, stored, counts: releaseCounts(content) };
  }

  const newRelease = (session: SessionRecord, frozen: Frozen, name: string, note: string | null, actor: string, batchId: string | null): NewRelease => ({
    id: randomUUID(),
    sessionId: session.id,
    projectId: session.projectId,
    batchId,
    name,
    note,
    createdBy: actor,
    contentHash: frozen.contentHash,
    counts: frozen.counts,
    content: frozen.content,
    stored: frozen.stored,
  });

  const released = (actor: string) => (release: ReleaseRecord) => ({
    projectId: release.projectId,
    type: 'session.released' as const,
    actor,
    data: { sessionId: release.sessionId, release: toReleaseBody(release) },
  });

  async function createForSession(session: SessionRecord, input: { name: string; note?: string | null | undefined }, actor: string): Promise<ReleaseRecord> {
    // The name is looked up while the document is frozen (the query runs off this thread); the
    // unique constraint still decides a race between two releases of one name.
    const [taken, frozen] = await Promise.all([releases.getByName(session.id, input.name), freeze(session)]);
    if (taken) throw nameTaken(new ReleaseNameTakenError(session.id, input.name));
    try {
      const record = await releases.insert(newRelease(session, frozen, input.name, input.note ?? null, actor, null), sink.within((r) => [released(actor)(r)]));
      cache.set(record.id, frozen.content);
      trim();
      return record;
    } catch (err) {
      if (err instanceof ReleaseNameTakenError) throw nameTaken(err);
      throw err;
    }
  }

  function trim(): void {
    while (cache.size > CONTENT_CACHE) cache.delete(cache.keys().next().value!);
  }

  /** Not found, or in another session: the same 404. */
  async function find(id: string, sessionId?: string): Promise<ReleaseRecord> {
    const release = await releases.get(id);
    if (!release || (sessionId !== undefined && release.sessionId !== sessionId)) throw new NotFoundError(`no release '${id}'${sessionId === undefined ? '' : ` in session '${sessionId}'`}`);
    return release;
  }

  async function content(id: string): Promise<ReleaseContent> {
    const kept = cache.get(id);
    if (kept) {
      cache.delete(id);
      cache.set(id, kept);
      return kept;
    }
    const text = await releases.contentText(id);
    if (text === null) throw new NotFoundError(`no release '${id}'`);
    const stored = await decodeReleaseText(text);
    cache.set(id, stored);
    trim();
    return stored;
  }

  return {
    freeze,
    find,
    content,
    createForSession,

    /** One release per active session of the project under one name, all or none. */
    async createForProject(projectId: string, input: { name: string; note?: string | null | undefined }, actor: string): Promise<ProjectReleaseBody> {
      const sessions = await deps.sessions.listActive(projectId);
      if (sessions.length === 0) throw new ConflictError(`project '${projectId}' has no session to release`, [{ field: 'projectId', code: 'no_sessions', message: 'the project has no active session' }], 'no_sessions');
      const batchId = randomUUID();
      const list: NewRelease[] = [];
      for (const session of sessions) list.push(newRelease(session, await freeze(session), input.name, input.note ?? null, actor, batchId));
      let records: ReleaseRecord[];
      try {
        records = await releases.insertMany(list, sink.within((rs) => rs.map(released(actor))));
      } catch (err) {
        if (err instanceof ReleaseNameTakenError) throw nameTaken(err);
        throw err;
      }
      const first = records[0]!;
      return { batchId, projectId, name: input.name, createdAt: first.createdAt, createdBy: actor, releases: records.map(toReleaseBody) };
    },

    listBySession: (sessionId: string, opts: { limit: number; cursor?: string }): Promise<Page<ReleaseRecord>> => paged(() => releases.listBySession(sessionId, opts)),

    async listProjectReleases(projectId: string, opts: { limit: number; cursor?: string }): Promise<Page<ProjectReleaseBody>> {
      const page = await paged(() => releases.listBatches(projectId, opts));
      const items: ProjectReleaseBody[] = [];
      for (const batch of page.items) items.push({ ...batch, releases: (await releases.listBatch(batch.batchId)).map(toReleaseBody) });
      return { ...page, items };
    },

    /** The batch's releases in the project's session order; 404 when it is not the project's. */
    async batch(projectId: string, batchId: string): Promise<ProjectReleaseBody> {
      const list = await releases.listBatch(batchId);
      const first = list[0];
      if (!first || first.projectId !== projectId) throw new NotFoundError(`no release '${batchId}' in project '${projectId}'`);
      return { batchId, projectId, name: first.name, createdAt: first.createdAt, createdBy: first.createdBy, releases: list.map(toReleaseBody) };
    },

    async remove(release: ReleaseRecord): Promise<void> {
      try {
        await releases.delete(release.id);
        cache.delete(release.id);
      } catch (err) {
        if (err instanceof ReleaseInUseError) {
          throw new ConflictError(err.message, [{ field: 'releaseId', code: 'in_use', message: `scored against by ${err.testRunIds.slice(0, 20).join(', ')}` }], 'release_in_use');
        }
        throw err;
      }
    },

    /** `to`: another release of the same session, or 'live' for the document now. */
    async diff(from: ReleaseRecord, to: string, opts: DiffOptions): Promise<ReleaseDiff & { from: string; to: string }> {
      const before = await content(from.id);
      let after: ReleaseContent;
      if (to === 'live') {
        const session = await deps.sessions.get(from.sessionId);
        if (!session) throw new NotFoundError(`no session '${from.sessionId}'`);
        after = await snapshot(session, { committed: false });
      } else {
        after = await content((await find(to, from.sessionId)).id);
      }
      try {
        // In slices: 10 000 annotations against 10 000 held the loop 25-50 ms in one piece.
        return { from: from.id, to, ...(await finishInSlices(diffReleaseSteps(before, after, opts))) };
      } catch (err) {
        // A cursor or limit the diff refuses names its parameter (docs-model invalid_value).
        throw toAppError(err);
      }
    },

    /**
     * The release a new test run is scored against: the one named (in the run's session), or one
     * made now and named `auto-<timestamp>` — `created` tells which.
     */
    async forRun(session: SessionRecord, releaseId: string | undefined, actor: string): Promise<{ release: ReleaseRecord; created: boolean }> {
      if (releaseId !== undefined) {
        const release = await releases.get(releaseId);
        if (!release || release.projectId !== session.projectId) throw new NotFoundError(`no release '${releaseId}'`);
        if (release.sessionId !== session.id) {
          throw new ValidationError(`release '${releaseId}' is of session '${release.sessionId}', not '${session.id}'`, [
            { field: 'groundTruth.releaseId', code: 'wrong_session', message: 'the release must be of the run session' },
          ]);
        }
        return { release, created: false };
      }
      const stamp = new Date().toISOString();
      for (let k = 0; ; k++) {
        // Runs created together (a CI job starting 20 models' runs at once) share the millisecond:
        // numbered suffixes collided among them, every racer trying -2, then -3, and the seventh
        // got a 409 (bench/test-runs.ts). A random suffix does not collide.
        const name = k === 0 ? `auto-${stamp}` : `auto-${stamp}-${randomBytes(3).toString('hex')}`;
        try {
          return { release: await createForSession(session, { name, note: 'made for a test run' }, actor), created: true };
        } catch (err) {
          if (!(err instanceof ConflictError && err.code === 'release_name_taken') || k >= 5) throw err;
        }
      }
    },
  };
}

export type ReleaseService = ReturnType<typeof createReleaseService>;
