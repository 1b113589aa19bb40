/**
 * What a transaction changed in a session's annotations and tracks, field by field: the raw
 * material of the annotation history (docs/history.md). Read from Yjs' own deep events, so it costs
 * nothing when nothing changed and needs no copy of the document.
 *
 *   const stop = observeFieldChanges(doc, (changes, origin) => history.add(changes, origin))
 *   // changes: [{ entity: 'annotation', id, kind: 'changed', fields: { label: { from: 'car', to: 'bus' } }, updatedBy: 'bob' }]
 *
 * A deleted annotation or track reports no fields: Yjs deletes the nested map's entries with it, so
 * their last values are the `to` of the entries before.
 */
import * as Y from 'yjs';
import { ANNOTATION, SESSION } from './keys.ts';
import { cloneValue } from './values.ts';

export interface FieldChange {
  from: unknown;
  to: unknown;
}

export interface EntityChange {
  entity: 'annotation' | 'track';
  id: string;
  kind: 'created' | 'changed' | 'deleted';
  fields: Record<string, FieldChange>;
  /** The annotation's `updatedBy` after the change (annotations written through docs-model); null for tracks and deletions. */
  updatedBy: string | null;
}

/** Bookkeeping fields: every write touches them, so they say nothing of their own. */
const quiet = new Set<string>([ANNOTATION.updatedAt, ANNOTATION.updatedBy, ANNOTATION.createdAt, ANNOTATION.createdBy]);

const plain = (value: unknown): unknown => (value instanceof Y.AbstractType ? value.toJSON() : value === undefined ? null : cloneValue(value));

function collect(entity: EntityChange['entity'], events: Array<Y.YEvent<Y.AbstractType<unknown>>>, out: EntityChange[]): void {
  const byId = new Map<string, EntityChange>();
  for (const event of events) {
    if (event.path.length === 0) {
      const top = event as Y.YMapEvent<unknown>;
      for (const [id, change] of top.changes.keys) {
        if (change.action === 'delete') {
          byId.set(id, { entity, id, kind: 'deleted', fields: {}, updatedBy: null });
          continue;
        }
        const map = (top.target as Y.Map<unknown>).get(id);
        const fields: Record<string, FieldChange> = {};
        let updatedBy: string | null = null;
        if (map instanceof Y.Map) {
          for (const [key, value] of map.entries()) {
            if (key === ANNOTATION.updatedBy && typeof value === 'string') updatedBy = value;
            if (!quiet.has(key)) fields[key] = { from: null, to: plain(value) };
          }
        }
        // A whole map put in place of another (a replace-import) reads as created.
        byId.set(id, { entity, id, kind: 'created', fields, updatedBy });
      }
      continue;
    }
    const id = event.path[0];
    if (typeof id !== 'string' || event.path.length !== 1) continue;
    const existing = byId.get(id);
    if (existing && existing.kind !== 'changed') continue; // created or deleted in this transaction
    const entry = existing ?? { entity, id, kind: 'changed' as const, fields: {}, updatedBy: null };
    const target = event.target as Y.Map<unknown>;
    // docs-model writes only the keys whose value changes, so an author editing again leaves
    // `updatedBy` as it was: its current value is the author either way.
    const author = target.get(ANNOTATION.updatedBy);
    if (typeof author === 'string') entry.updatedBy = author;
    for (const [key, change] of (event as Y.YMapEvent<unknown>).changes.keys) {
      const to = change.action === 'delete' ? null : target.get(key);
      if (quiet.has(key)) continue;
      entry.fields[key] = { from: plain(change.oldValue), to: plain(to) };
    }
    byId.set(id, entry);
  }
  for (const entry of byId.values()) {
    if (entry.kind !== 'changed' || Object.keys(entry.fields).length > 0) out.push(entry);
  }
}

/** Calls `listener` after every transaction that created, changed or deleted annotations or tracks. */
export function observeFieldChanges(
  doc: Y.Doc,
  listener: (changes: EntityChange[], origin: unknown) => void,
): () => void {
  const annotations = doc.getMap(SESSION.annotations);
  const tracks = doc.getMap(SESSION.tracks);
  const onAnnotations = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>, txn: Y.Transaction) => {
    const out: EntityChange[] = [];
    collect('annotation', events, out);
    if (out.length > 0) listener(out, txn.origin);
  };
  const onTracks = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>, txn: Y.Transaction) => {
    const out: EntityChange[] = [];
    collect('track', events, out);
    if (out.length > 0) listener(out, txn.origin);
  };
  annotations.observeDeep(onAnnotations);
  tracks.observeDeep(onTracks);
  return () => {
    annotations.unobserveDeep(onAnnotations);
    tracks.unobserveDeep(onTracks);
  };
}
