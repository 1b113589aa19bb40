/**
 * The `test-run:<id>` document (docs/architecture.md, "Documents"): what a live progress bar and a
 * run's result page show. The server writes it on every change of the run; clients sync it
 * read-only with the stock provider, so a browser needs one protocol for everything live.
 *
 *   writeTestRun(doc, { id, status: 'running', processedFrames: 40, totalFrames: 100, … })
 *   readTestRun(doc)   // → { id, status: 'running', progress: 0.4, … } or null before the first write
 *
 * One top-level Y.Map `testRun`, one key per field; a write sets only the keys whose value changed,
 * so a progress post sends a few bytes to every watcher, not the whole run.
 */
import type * as Y from 'yjs';
import { isFiniteNumber, isPlainObject, sameValue } from './values.ts';

/** Status only moves forward: queued → running → completed | failed | cancelled. */
export const TEST_RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type TestRunStatus = (typeof TEST_RUN_STATUSES)[number];

/** A test run as plain data: what its database row and its document both hold. */
export interface TestRun {
  id: string;
  projectId: string;
  videoId: string;
  sessionId: string;
  model: { name: string; version: string };
  status: TestRunStatus;
  processedFrames: number;
  totalFrames: number;
  message: string | null;
  /** What the runner reported (fps, …). */
  metrics: Record<string, unknown> | null;
  /** The evaluation against ground truth, once the run completed. */
  evaluation: Record<string, unknown> | null;
  detectionCount: number;
  /** Counts every change of the run; the Server-Sent Event id of the same change. */
  revision: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The run as its document shows it: with `progress` derived. */
export interface TestRunView extends TestRun {
  /** processedFrames / totalFrames in [0, 1]; 0 while totalFrames is 0. */
  progress: number;
}

/** The input of `writeTestRun`: everything but `progress`, which is derived. */
export type TestRunViewInput = TestRun;

/** Top-level shared type and its keys; only this module knows them. */
const ROOT = 'testRun';
const KEYS = [
  'id',
  'projectId',
  'videoId',
  'sessionId',
  'model',
  'status',
  'processedFrames',
  'totalFrames',
  'progress',
  'message',
  'metrics',
  'evaluation',
  'detectionCount',
  'revision',
  'createdAt',
  'updatedAt',
  'startedAt',
  'finishedAt',
] as const satisfies readonly (keyof TestRunView)[];

const STATUSES: readonly string[] = TEST_RUN_STATUSES;

export const progressOf = (processedFrames: number, totalFrames: number): number =>
  totalFrames > 0 ? Math.min(1, Math.max(0, processedFrames / totalFrames)) : 0;

const runMap = (doc: Y.Doc): Y.Map<unknown> => doc.getMap(ROOT);

/** Writes the run, touching only the keys that change; one transaction. */
export const writeTestRun = (doc: Y.Doc, run: TestRunViewInput, origin?: unknown): void => {
  const view: TestRunView = { ...run, progress: progressOf(run.processedFrames, run.totalFrames) };
  doc.transact(() => {
    const map = runMap(doc);
    for (const key of KEYS) {
      const value = view[key];
      if (!sameValue(map.get(key), value)) map.set(key, value);
    }
  }, origin);
};

/** The revision the document holds (null before the first write): what a writer compares, without reading the whole run. */
export const testRunRevision = (doc: Y.Doc): number | null => {
  const v = runMap(doc).get('revision');
  return isFiniteNumber(v) ? v : null;
};

/** The run as plain data, or null while the document holds no (complete) run. */
export const readTestRun = (doc: Y.Doc): TestRunView | null => {
  const map = runMap(doc);
  const get = (key: (typeof KEYS)[number]): unknown => map.get(key);
  const str = (key: (typeof KEYS)[number]): string | null => {
    const v = get(key);
    return typeof v === 'string' ? v : null;
  };
  const num = (key: (typeof KEYS)[number]): number | null => {
    const v = get(key);
    return isFiniteNumber(v) ? v : null;
  };
  const obj = (key: (typeof KEYS)[number]): Record<string, unknown> | null => {
    const v = get(key);
    return isPlainObject(v) ? v : null;
  };
  const id = str('id');
  const status = str('status');
  const model = obj('model');
  const processedFrames = num('processedFrames');
  const totalFrames = num('totalFrames');
  if (id === null || status === null || !STATUSES.includes(status) || !model || processedFrames === null || totalFrames === null) return null;
  return {
    id,
    projectId: str('projectId') ?? '',
    videoId: str('videoId') ?? '',
    sessionId: str('sessionId') ?? '',
    model: { name: String(model.name ?? ''), version: String(model.version ?? '') },
    status: status as TestRunStatus,
    processedFrames,
    totalFrames,
    progress: num('progress') ?? progressOf(processedFrames, totalFrames),
    message: str('message'),
    metrics: obj('metrics'),
    evaluation: obj('evaluation'),
    detectionCount: num('detectionCount') ?? 0,
    revision: num('revision') ?? 0,
    createdAt: str('createdAt') ?? '',
    updatedAt: str('updatedAt') ?? '',
    startedAt: str('startedAt'),
    finishedAt: str('finishedAt'),
  };
};

/** Calls `listener` with the run after every change of the document (a browser's progress bar). */
export const observeTestRun = (doc: Y.Doc, listener: (run: TestRunView | null) => void): (() => void) => {
  const map = runMap(doc);
  const onChange = (): void => listener(readTestRun(doc));
  map.observe(onChange);
  return () => map.unobserve(onChange);
};
