/**
 * A test run as the REST API sends it: the record, its progress and the name of its live document.
 *
 *   toBody(run)   // → { ...run, progress: 0.42, docName: 'test-run:<id>' }
 */
import { progressOf } from '../../../docs-model/index.ts';
import { docName, type DocName } from '../../../docs-model/protocol.ts';
import type { TestRunRecord } from '../../../persistence/repositories/test-runs.ts';

/** What the REST API sends for a run: the record, its progress and its document. */
export type TestRunBody = TestRunRecord & { progress: number; docName: string };

/** The run's live document. Run ids pass the API's `Id` schema, the pattern document ids allow. */
export const runDocName = (id: string): DocName => {
  const name = docName('test-run', id);
  if (!name) throw new Error(`test run ${id} has an invalid document name`);
  return name;
};

export const toBody = (run: TestRunRecord): TestRunBody => ({
  ...run,
  progress: progressOf(run.processedFrames, run.totalFrames),
  docName: runDocName(run.id).name,
});
