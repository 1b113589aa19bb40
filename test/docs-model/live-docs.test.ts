/**
 * The server-written documents (test runs, dashboards) as plain data: each writer paired with its reader, and
 * writes that touch only what changed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import {
  ACTIVITY_LIMIT,
  readDashboard,
  readPresence,
  readTestRun,
  writeDashboard,
  writeTestRun,
  type DashboardState,
  type TestRunViewInput,
} from '../../docs-model/index.ts';

const run: TestRunViewInput = {
  id: 'r1',
  projectId: 'p1',
  videoId: 'v1',
  sessionId: 's1',
  model: { name: 'yolo', version: '8' },
  status: 'running',
  processedFrames: 25,
  totalFrames: 100,
  message: null,
  metrics: { fps: 31.5 },
  evaluation: null,
  detectionCount: 3,
  revision: 4,
  createdAt: '2026-11-24T10:00:00.000Z',
  updatedAt: '2026-11-24T10:00:01.000Z',
  startedAt: '2026-11-24T10:00:00.500Z',
  finishedAt: null,
};

const board = (over: Partial<DashboardState> = {}): DashboardState => ({
  projectId: 'p1',
  sessionsByStatus: { open: 1, review: 0, complete: 0 },
  annotationsByLabel: { car: { draft: 2 } },
  videosByGroundTruthStatus: { none: 0, in_progress: 1, complete: 0 },
  participants: [],
  runningRuns: [],
  activity: [],
  updatedAt: 1,
  ...over,
});

const testRunDoc = suite('test-run document');

testRunDoc('a written run reads back with its progress, and an empty document reads as null', () => {
  const doc = new Y.Doc();
  assert.is(readTestRun(doc), null);
  writeTestRun(doc, run);
  assert.equal(readTestRun(doc), { ...run, progress: 0.25 });
});

testRunDoc('a progress write sends only the keys that changed', () => {
  const doc = new Y.Doc();
  writeTestRun(doc, run);
  const other = new Y.Doc();
  Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
  let bytes = 0;
  doc.on('update', (u: Uint8Array) => {
    bytes += u.length;
    Y.applyUpdate(other, u);
  });
  writeTestRun(doc, { ...run, processedFrames: 26, revision: 5 });
  assert.ok(bytes < 120, `${bytes} bytes for a progress step`);
  assert.is(readTestRun(other)?.processedFrames, 26);
  bytes = 0;
  writeTestRun(doc, { ...run, processedFrames: 26, revision: 5 });
  assert.is(bytes, 0, 'an unchanged run writes nothing');
});

testRunDoc.run();

const dashboardDoc = suite('dashboard document');

dashboardDoc('a written dashboard reads back; activity keeps the last 50, oldest first', () => {
  const doc = new Y.Doc();
  assert.is(readDashboard(doc), null);
  const events = Array.from({ length: 60 }, (_, i) => ({ seq: i + 1, type: 'joined' as const, at: i, user: `u${i}` }));
  writeDashboard(doc, board({ activity: events.slice(0, 30) }));
  writeDashboard(doc, board({ activity: events.slice(10, 60), updatedAt: 2 }));
  const read = readDashboard(doc)!;
  assert.is(read.activity.length, ACTIVITY_LIMIT);
  assert.equal(read.activity.map((e) => e.seq), events.slice(10).map((e) => e.seq));
  assert.equal(read.annotationsByLabel, { car: { draft: 2 } });
  assert.is(read.updatedAt, 2);
});

dashboardDoc('a refresh that found nothing new writes nothing', () => {
  const doc = new Y.Doc();
  writeDashboard(doc, board());
  let updates = 0;
  doc.on('update', () => updates++);
  assert.is(writeDashboard(doc, board({ updatedAt: 99 })), false);
  assert.is(updates, 0);
});

dashboardDoc('presence reads the y-websocket user convention and a frame', () => {
  assert.equal(readPresence({ user: { name: 'Ada', id: 'u1' }, frame: 12 }), { name: 'Ada', userId: 'u1', frame: 12 });
  assert.equal(readPresence({ user: { name: 'Bo' }, cursor: { frame: 3 } }), { name: 'Bo', userId: null, frame: 3 });
  assert.equal(readPresence('nonsense'), { name: null, userId: null, frame: null });
  assert.equal(readPresence({ frame: -1 }), { name: null, userId: null, frame: null });
});

dashboardDoc.run();
