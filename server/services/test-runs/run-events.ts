/**
 * The stored events of a test run's life (docs/webhooks.md, "Events"): created, started (activity
 * only), ended as completed, failed or cancelled. They are appended in the transaction of the
 * status change itself, so a run that moved has its events and one that did not has none.
 */
import type { NewEvent } from '../../../persistence/repositories/events.ts';
import { TERMINAL_STATUSES, type TestRunRecord, type TestRunStatus } from '../../../persistence/repositories/test-runs.ts';
import { toBody } from './run-body.ts';

/** The events of a run's move from `before` (null: just created) to its current status. */
export function transitionEvents(before: TestRunStatus | null, run: TestRunRecord, actor: string): NewEvent[] {
  const event = (type: NewEvent['type']): NewEvent => ({ projectId: run.projectId, type, actor, data: { run: toBody(run) } });
  const events: NewEvent[] = [];
  if (before === null) events.push(event('test_run.created'));
  if (before !== run.status && run.status !== 'queued' && (before === null || before === 'queued')) events.push(event('test_run.started'));
  if (before !== run.status && TERMINAL_STATUSES.has(run.status)) {
    events.push(event(run.status === 'completed' ? 'test_run.completed' : run.status === 'failed' ? 'test_run.failed' : 'test_run.cancelled'));
  }
  return events;
}

