/**
 * A session's live document as REST reads and changes it: read with the projection's read index
 * (which the event source gave every loaded session document), changed in one server transaction
 * that resolves once committed, docs-model errors turned into typed errors (`toAppError`).
 *
 *   const page = await readSessionDoc(services, session, (ydoc, index) => index.query(filter, page))
 *   await changeSessionDoc(services, session, actor, (ydoc, origin) => addAnnotation(ydoc, input, { by: actor, origin }))
 *   await changeSessionDocInSteps(services, session, actor, (ydoc) => planAddAnnotations(ydoc, inputs, { by: actor }))
 *   const content = await readSessionContent(services, session) // for an export
 */
import type * as Y from 'yjs';
import { getLabels, getMeta, listTracks } from '../../docs-model/index.ts';
import type { SessionContent } from '../../docs-model/formats/content.ts';
import type { StagedWrite } from '../../docs-model/staged-write.ts';
import { docName, parseDocName, type DocName } from '../../docs-model/protocol.ts';
import type { SessionRecord } from '../../persistence/rows.ts';
import { ConflictError, toAppError } from '../base/errors.ts';
import type { DocRegistry } from '../documents/doc-registry.ts';
import type { LiveDocument } from '../documents/live-document.ts';
import type { ChangeOrigin } from '../documents/origins.ts';
import type { Projection } from '../followers/projection.ts';
import type { SessionIndex } from '../followers/session-index.ts';

export interface SessionDocumentSources {
  registry: DocRegistry;
  projection: Projection;
}

export function sessionDocName(session: SessionRecord): DocName {
  const name = parseDocName(session.docName);
  if (!name) throw new Error(`session ${session.id} has an invalid document name`);
  return name;
}

/** The document name of a new session. Session ids pass the API's `Id` schema, the pattern document ids allow. */
export function newSessionDocName(id: string): string {
  const name = docName('session', id);
  if (!name) throw new Error(`session ${id} has an invalid document name`);
  return name.name;
}

/**
 * At most this many changed annotations are re-read inside a reader; more (a big write's), and the
 * index catches up in slices first (`SessionIndex.catchUp`), so no read holds the event loop.
 */
const REREAD_IN_READER = 64;

/** Reads the session's live document (loaded if needed) with its read index. */
export async function readSessionDoc<T>(
  deps: SessionDocumentSources,
  session: SessionRecord,
  reader: (ydoc: Y.Doc, index: SessionIndex) => T,
): Promise<T> {
  const name = sessionDocName(session);
  // Usually one read: a second one only after catching up with a big write.
  const first = await deps.registry.read(name, (ydoc, doc): { read: true; value: T } | { read: false; index: SessionIndex } => {
    const index = indexOf(deps, doc);
    return index.behind > REREAD_IN_READER ? { read: false, index } : { read: true, value: reader(ydoc, index) };
  });
  if (first.read) return first.value;
  await first.index.catchUp();
  return deps.registry.read(name, (ydoc, doc) => reader(ydoc, indexOf(deps, doc)));
}

function indexOf(deps: SessionDocumentSources, doc: LiveDocument): SessionIndex {
  const index = deps.projection.indexOf(doc);
  if (!index) throw new Error(`${doc.name} is not a session document`);
  return index;
}

/** Changes the session's live document; resolves once the update is committed. */
export async function changeSessionDoc<T>(
  deps: SessionDocumentSources,
  session: SessionRecord,
  actor: string,
  change: (ydoc: Y.Doc, origin: ChangeOrigin) => T,
): Promise<T> {
  try {
    return await deps.registry.transact(sessionDocName(session), actor, change);
  } catch (err) {
    // Mapped here already (not only by the error middleware): routes refine these answers.
    throw toAppError(err);
  }
}

/** `changeSessionDoc` for a large change, planned then written a step per transaction (DocRegistry.transactInSteps). */
export async function changeSessionDocInSteps<T>(
  deps: SessionDocumentSources,
  session: SessionRecord,
  actor: string,
  plan: (ydoc: Y.Doc, origin: ChangeOrigin) => StagedWrite<T>,
): Promise<T> {
  try {
    return await deps.registry.transactInSteps(sessionDocName(session), actor, plan);
  } catch (err) {
    throw toAppError(err);
  }
}

/**
 * A loaded session document's content in one synchronous read, so a racing edit is in it or out of
 * it whole: meta, labels and tracks from the document, the annotations from its read index (caught
 * up in slices first). They are what `readSession` gives, in its order (`listAnnotations` sorts by
 * frame then id, as `inOrder` does); walking the 10 000 Y.Maps of a session held the loop 11-24 ms
 * at every release frozen, the index's copy well under one. Null when, by the time of the read, a
 * staged change holds the document (half-written: docs/architecture.md, "Large writes") or it is no
 * longer the registry's: the caller acquires it again, which waits for the change to end.
 */
export async function snapshotSessionDoc(deps: SessionDocumentSources, doc: LiveDocument): Promise<SessionSnapshot | null> {
  const index = indexOf(deps, doc);
  if (index.behind > REREAD_IN_READER) await index.catchUp();
  if (doc.busy || deps.registry.get(doc.name) !== doc) return null;
  return contentOf(doc.ydoc, index);
}

/** Meta, labels and tracks from the document, the annotations from its read index: one synchronous read. */
const contentOf = (ydoc: Y.Doc, index: SessionIndex): SessionSnapshot => ({
  meta: getMeta(ydoc),
  labels: getLabels(ydoc),
  tracks: listTracks(ydoc),
  annotations: index.inOrder(),
});

/** A session's content as read, its meta absent while the server has not written it. */
export type SessionSnapshot = Omit<SessionContent, 'meta'> & { meta: SessionContent['meta'] | null | undefined };

/** The session's whole content for an export; 409 `no_meta` while it has no video meta. */
export async function readSessionContent(deps: SessionDocumentSources, session: SessionRecord): Promise<SessionContent> {
  // The annotations come from the session's read index, plain data already and caught up in
  // slices: walking 10 000 Y.Maps with readSession held the event loop ~50 ms.
  const content = await readSessionDoc(deps, session, contentOf);
  const { meta } = content;
  if (!meta) throw new ConflictError(`session '${session.id}' has no video meta yet`, undefined, 'no_meta');
  return { ...content, meta };
}

/** Who is connected to the session, from its presence: only a loaded document has any (nobody is connected to one that is not). */
export function sessionParticipants(
  deps: Pick<SessionDocumentSources, 'registry'>,
  session: SessionRecord,
): Array<{ clientId: number; state: unknown }> {
  const live = deps.registry.get(sessionDocName(session).name);
  return live ? live.awareness.states().map(({ clientId, state }) => ({ clientId, state })) : [];
}
