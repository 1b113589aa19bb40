/**
 * A test run as the REST API sends it: the record, its progress and the name of its live document.
 *
 *   toBody(run)   // → { ...run, progress: 0.42, docName: 'test-run:<id>' }
 */
import { progressOf } from '../../../docs-model/index.ts';
import type { TestRunRecord } from '../../../persistence/repositories/test-runs.ts';

/** What the REST API sends for a run: the record, its progress and its document. */
export type TestRunBody = TestRunRecord & { progress: number; docName: string };

export const runDocName = (id: string): string => `test-run:${id}`;

export const toBody = (run: TestRunRecord): TestRunBody => ({
  ...run,
  progress: progressOf(run.processedFrames, run.totalFrames),
  docName: runDocName(run.id),
});
