/**
 * A session's live document as REST reads and changes it: read with the projection's read index
 * (which the event source gave every loaded session document), changed in one server transaction
 * that resolves once committed, docs-model errors turned into typed HTTP errors.
 *
 *   const page = await readSessionDoc(services, session, (ydoc, index) => index.query(filter, page))
 *   await changeSessionDoc(services, session, actor, (ydoc, origin) => addAnnotation(ydoc, input, { by: actor, origin }))
 */
import type * as Y from 'yjs';
import { DocModelError } from '../../docs-model/index.ts';
import { parseDocName, type DocName } from '../../docs-model/protocol.ts';
import type { SessionRecord } from '../../persistence/rows.ts';
import { ConflictError, NotFoundError, ValidationError, type ErrorDetail } from '../base/errors.ts';
import type { DocRegistry } from '../documents/doc-registry.ts';
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

/** Reads the session's live document (loaded if needed) with its read index. */
export async function readSessionDoc<T>(
  deps: SessionDocumentSources,
  session: SessionRecord,
  reader: (ydoc: Y.Doc, index: SessionIndex) => T,
): Promise<T> {
  return deps.registry.read(sessionDocName(session), (ydoc, doc) => {
    const index = deps.projection.indexOf(doc);
    if (!index) throw new Error(`${doc.name} is not a session document`);
    return reader(ydoc, index);
  });
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
    throw fromDocModelError(err);
  }
}

/** docs-model problems as HTTP: not_found → 404, duplicate_id → 409, the rest → 422 naming the field. */
export function fromDocModelError(err: unknown): unknown {
  if (!(err instanceof DocModelError)) return err;
  if (err.code === 'not_found') return new NotFoundError(err.message);
  if (err.code === 'invalid_content' && hasIndexedErrors(err.details)) {
    const details: ErrorDetail[] = err.details.errors.map(({ index, field, code, message }) => ({
      field: `[${index}].${field}`,
      code,
      message,
      index,
    }));
    // Ids that exist already are a conflict with the document's state, not invalid input.
    if (details.every((d) => d.code === 'duplicate_id')) return new ConflictError(err.message, details, 'duplicate_id');
    return new ValidationError(err.message, details);
  }
  const detail: ErrorDetail = { field: err.field, code: err.code, message: err.message };
  if (err.details !== undefined) detail.details = err.details;
  if (err.code === 'duplicate_id') return new ConflictError(err.message, [detail], 'duplicate_id');
  return new ValidationError(err.message, [detail]);
}

function hasIndexedErrors(
  details: unknown,
): details is { errors: Array<{ index: number; field: string; code: string; message: string }> } {
  return (
    typeof details === 'object' &&
    details !== null &&
    Array.isArray((details as { errors?: unknown }).errors)
  );
}
