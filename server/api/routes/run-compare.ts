/**
 * `GET /api/test-runs/compare?base=:a&head=:b`: two runs scored against the same release, side by
 * side (docs-model/evaluation-compare.ts) — every metric's delta overall and per label, the frames
 * where head lost a true positive base had (regressions) and gained one (fixes), paged, and both
 * runs' confusion matrices and precision–recall curves. Runs on different releases cannot be
 * compared: 409 naming both. Needs viewer on the runs' project (404 for a run the caller cannot see).
 *
 * "compare" is a static segment, so the route table takes it before `/api/test-runs/:testRunId`.
 */
import type { Context } from 'koa';
import { compareEvaluations } from '../../../docs-model/evaluation-compare.ts';
import type { TestRunRecord } from '../../../persistence/repositories/test-runs.ts';
import { ConflictError, NotFoundError, toAppError } from '../../base/errors.ts';
import type { Services } from '../../services/services.ts';
import { requireRoleOnFound } from '../access.ts';
import { Comparison, CompareQuery } from '../release-schemas.ts';
import { defineRoute, type Route } from '../route.ts';

export function runCompareRoutes(deps: Services): Route[] {
  const { testRuns, releases } = deps;
  const visible = (ctx: Context, id: string): Promise<TestRunRecord> =>
    requireRoleOnFound(ctx, 'viewer', () => testRuns.find(id), () => new NotFoundError(`no test run '${id}'`));
  return [
    defineRoute({
      method: 'get',
      path: '/api/test-runs/compare',
      tag: 'test-runs',
      summary: 'Compare two runs scored against the same release',
      description:
        'Overall and per-label base, head and delta of tp, fp, fn, precision, recall, f1, ap50 and ap (a label one run lacks is compared with zeros, onlyIn says which run has it); ' +
        'when either run carries track ids, tracking: the same for MOTA, MOTP, IDF1, IDP, IDR, HOTA, DetA, AssA, LocA and the tracking counts; ' +
        'regressions (frames where head lost a true positive base had) and fixes, paged by frame with regressionsCursor and fixesCursor; both runs\u2019 confusion matrices and PR curves. ' +
        'summary=true: the deltas and the counts only. 409 naming both releases when the runs are scored against different ones.',
      query: CompareQuery,
      responses: { 200: { description: 'the comparison', schema: Comparison } },
      errors: [403, 404, 409],
      authorize: async ({ query, ctx }) => Promise.all([visible(ctx, query.base), visible(ctx, query.head)]),
      handle: async ({ query, authorized: [base, head] }) => {
        if (base.releaseId === null || head.releaseId === null || base.releaseId !== head.releaseId) {
          throw new ConflictError(
            `run '${base.id}' is scored against release '${base.releaseId ?? 'none (live session)'}' and run '${head.id}' against '${head.releaseId ?? 'none (live session)'}': compare runs on one release`,
            [{ field: 'head', code: 'different_releases', message: 'the runs are scored against different releases', base: base.releaseId, head: head.releaseId }],
            'different_releases',
          );
        }
        const release = await releases.find(base.releaseId);
        const [b, h] = await Promise.all([testRuns.score(base), testRuns.score(head)]);
        let c;
        try {
          c = compareEvaluations(b, h, {
            groundTruth: b.truth,
            limit: query.limit,
            ...(query.regressionsCursor === undefined ? {} : { regressionsCursor: query.regressionsCursor }),
            ...(query.fixesCursor === undefined ? {} : { fixesCursor: query.fixesCursor }),
          });
        } catch (err) {
          throw toAppError(err);
        }
        const groundTruth = { sessionId: release.sessionId, releaseId: release.id, contentHash: release.contentHash };
        if (query.summary) {
          const count = ({ boxes, frames }: { boxes: number; frames: number }) => ({ boxes, frames });
          const { overall, perLabel, tracking } = c;
          return { body: { base: { runId: base.id }, head: { runId: head.id }, groundTruth, overall, perLabel, ...(tracking ? { tracking } : {}), regressions: count(c.regressions), fixes: count(c.fixes) } };
        }
        return {
          body: {
            base: { runId: base.id, ...c.base },
            head: { runId: head.id, ...c.head },
            groundTruth,
            overall: c.overall,
            perLabel: c.perLabel,
            ...(c.tracking ? { tracking: c.tracking } : {}),
            regressions: c.regressions,
            fixes: c.fixes,
          },
        };
      },
    }),
  ];
}
