/**
 * An import's reads and its one write in a session's live document (docs/formats.md): what the
 * parser needs to know of the session, then the parsed content written as ONE change (planned by
 * `planWriteSession`, written a step per transaction: DocRegistry.transactInSteps) under the
 * `import` origin, or, for a dry run, the same write on a copy. Errors are left as
 * thrown (a DocModelError 'invalid_content' lists every refusal), for the route to place them.
 *
 *   const known = await readImportContext(services, session)      // { meta, labels } for the parser
 *   const written = await importIntoSession(services, session, plan, { dryRun: false })
 */
import * as Y from 'yjs';
import { getLabels, getMeta, listAnnotations, planWriteSession, runStaged, type LabelDef, type SessionMeta, type StagedWrite, type WriteSessionResult } from '../../docs-model/index.ts';
import type { ImportedAnnotation, ImportedContent } from '../../docs-model/formats/index.ts';
import type { SessionRecord } from '../../persistence/rows.ts';
import { sessionDocName, type SessionDocumentSources } from './session-documents.ts';

/** A parsed file and how to write it. */
export interface ImportPlan {
  content: ImportedContent;
  mode: 'merge' | 'replace';
  /** The native format: its labels replace the session's on replace, and its boxes are taken exactly. */
  native: boolean;
  /** Keep boxes past the image edge as the file writes them (MOT). */
  keepPastEdge: boolean;
  actor: string;
}

type Sources = Pick<SessionDocumentSources, 'registry'>;

/** The session's meta and labels, which the parser checks the file against. */
export async function readImportContext(
  deps: Sources,
  session: SessionRecord,
): Promise<{ meta: SessionMeta | null; labels: Record<string, LabelDef> }> {
  return deps.registry.read(sessionDocName(session), (ydoc) => ({ meta: getMeta(ydoc), labels: getLabels(ydoc) }));
}

/** Writes the plan in one transaction (origin `import`), or with `dryRun` on a copy; resolves once committed. */
export async function importIntoSession(
  deps: Sources,
  session: SessionRecord,
  plan: ImportPlan,
  opts: { dryRun?: boolean } = {},
): Promise<WriteSessionResult> {
  const docName = sessionDocName(session);
  if (!opts.dryRun) return deps.registry.transactInSteps(docName, plan.actor, (ydoc) => planImport(ydoc, plan), 'import');
  return deps.registry.read(docName, (ydoc) => {
    const copy = new Y.Doc({ gc: false });
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(ydoc));
    try {
      return applyImport(copy, plan);
    } finally {
      copy.destroy();
    }
  });
}

/** Merge upserts by id, or by track id + frame: a keyframe the session has on that frame keeps its id. */
function adoptKeyframeIds(ydoc: Y.Doc, annotations: ImportedAnnotation[]): ImportedAnnotation[] {
  const existing = new Map<string, string>();
  for (const a of listAnnotations(ydoc)) if (a.trackId !== null) existing.set(`${a.trackId}\u0000${a.frame}`, a.id);
  return annotations.map((a) => {
    const id = typeof a.trackId === 'string' ? existing.get(`${a.trackId}\u0000${a.frame}`) : undefined;
    return id === undefined || id === a.id ? a : { ...a, id };
  });
}

function applyImport(ydoc: Y.Doc, plan: ImportPlan): WriteSessionResult {
  return runStaged(ydoc, planImport(ydoc, plan));
}

/** The import's write, checked and cut into steps (docs-model/staged-write.ts). */
function planImport(ydoc: Y.Doc, plan: ImportPlan): StagedWrite<WriteSessionResult> {
  const { content, mode, native } = plan;
  // Only the native format defines a label set; other files' labels join the session's.
  const labels: Record<string, LabelDef> = mode === 'replace' && !native ? { ...getLabels(ydoc), ...content.labels } : content.labels;
  const annotations = mode === 'merge' ? adoptKeyframeIds(ydoc, content.annotations) : content.annotations;
  // Importers clip and report boxes that cross the edge; clip again only the float hairs of
  // normalised formats. Native content is taken exactly, or refused.
  // MOT boxes past the edge are kept as the file writes them (scored unclipped; docs/formats.md).
  const edge = plan.keepPastEdge ? { keepPastEdge: true } : {};
  return planWriteSession(ydoc, { labels, tracks: content.tracks, annotations }, { mode, by: plan.actor, clip: !native, ...edge });
}
