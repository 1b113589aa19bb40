/**
 * The `annosync` command without a server: --help on every command, usage errors and unreachable
 * servers as one line on stderr with exit 2, and the gate's decision rule.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { judge, parseMaxDrop } from '../../cli/commands/gate.ts';
import { judgeFloor, parseMin } from '../../cli/commands/gate-floor.ts';
import { parseModel, type EvaluationBody } from '../../cli/commands/run.ts';
import { UsageError } from '../../cli/errors.ts';
import { formatTable } from '../../cli/table.ts';
import { annosync, oneCleanLine } from './helpers.ts';

const COMMANDS = ['export', 'import', 'release', 'run', 'compare', 'gate'];
/** A zip where a detections file is expected (its first bytes are all the command reads). */
const ZIP = path.join(mkdtempSync(path.join(tmpdir(), 'annosync-cli-usage-')), 'tracker.zip');
writeFileSync(ZIP, Buffer.from('PK\x03\x04 not really a zip', 'latin1'));
const TOKEN = { ANNOSYNC_TOKEN: 'not-checked-before-the-request' };

const usage = suite('annosync usage');

usage('--help on every command prints its options and exits 0; --version prints the package version', async () => {
  const all = await Promise.all(COMMANDS.map((c) => annosync([c, '--help'])));
  all.forEach((r, k) => {
    assert.is(r.code, 0, COMMANDS[k]);
    assert.ok(r.stdout.includes(`Usage: annosync ${COMMANDS[k]}`) && r.stdout.includes('--json') && r.stdout.includes('--token'), r.stdout);
  });
  const version = await annosync(['--version']);
  assert.equal([version.code, version.stdout.trim()], [0, (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version]);
  const root = await annosync(['--help']);
  assert.is(root.code, 0);
  for (const c of COMMANDS) assert.ok(root.stdout.includes(c));
});

usage('no command, an unknown command, an unknown flag or a bad choice: one line, exit 2', async () => {
  const none = await annosync([]);
  assert.is(none.code, 2);
  assert.ok(none.stderr.includes('Usage: annosync'));
  for (const args of [['frobnicate'], ['gate', '--run', 'a', '--baseline', 'b', '--bogus'], ['export', '--session', 's', '--format', 'tiff', '-o', 'x'], ['gate', '--run', 'a', '--baseline', 'b', '--metric', 'fp']]) {
    const r = await annosync(args, TOKEN);
    assert.is(r.code, 2, args.join(' '));
    assert.ok(oneCleanLine(r.stderr), `${args.join(' ')}: ${r.stderr}`);
  }
});

/** A port nothing listens on: taken from the OS, then let go. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

usage('bad values, a missing file, no token and an unreachable server: one clear line, exit 2', async () => {
  const port = await closedPort();
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['gate', '--run', 'a', '--baseline', 'b', '--max-drop', 'lots'], TOKEN, /--max-drop must be a number/],
    [['gate', '--run', 'a', '--baseline', 'a'], TOKEN, /same run/],
    [['compare', '--base', 'a', '--head', 'a'], TOKEN, /--base and --head are the same run/],
    [['compare', '--base', 'a'], TOKEN, /required option '--head <id>' not specified/],
    [['gate', '--run', 'a'], TOKEN, /give --baseline RUN \(fail on a drop against it\), --min VALUE \(fail below it\), or both/],
    [['gate', '--run', 'a', '--min', 'high'], TOKEN, /--min must be a number in \[-1, 1\]/],
    [['release', '--session', 's', '--project', 'p', '--name', 'v1'], TOKEN, /exactly one of --session and --project/],
    [['import', '--session', 's', '--format', 'coco', '/nonexistent/file.json'], TOKEN, /cannot read \/nonexistent\/file.json: ENOENT/],
    [['run', '--project', 'p', '--video', 'v', '--session', 's', '--model', 'm@1', '--detections', '/nonexistent.csv'], TOKEN, /cannot read/],
    [['run', '--project', 'p', '--video', 'v', '--session', 's', '--model', 'm@1', '--detections', ZIP], TOKEN, /tracker\.zip is a zip: pass the file inside it/],
    [['run', '--project', 'p', '--video', 'v', '--session', 's', '--model', 'm@1', '--detections', 'x.csv', '--chunk-size', 'many'], TOKEN, /chunk-size/],
    [['export', '--session', 's', '--format', 'coco', '-o', '/tmp/x'], {}, /no token: set ANNOSYNC_TOKEN or pass --token/],
    [['export', '--session', 's', '--format', 'coco', '-o', '/tmp/x', '--url', 'ftp://x'], TOKEN, /not an http\(s\) URL/],
    [['export', '--session', 's', '--format', 'coco', '-o', '/tmp/x'], { ...TOKEN, ANNOSYNC_URL: `http://127.0.0.1:${port}` }, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`)],
  ];
  const results = await Promise.all(cases.map(([args, env]) => annosync(args, env)));
  results.forEach((r, k) => {
    const [args, , expected] = cases[k]!;
    assert.is(r.code, 2, args.join(' '));
    assert.ok(oneCleanLine(r.stderr) && expected.test(r.stderr), `${args.join(' ')}: ${r.stderr}`);
  });
});

usage('--json puts the error on stdout as JSON too', async () => {
  const r = await annosync(['gate', '--run', 'a', '--baseline', 'b', '--max-drop', '-1', '--json'], TOKEN);
  assert.is(r.code, 2);
  assert.equal(JSON.parse(r.stdout), { error: { code: 'usage', message: "--max-drop must be a number in [0, 1], got '-1'" } });
});

const gate = suite('gate decision');

const d = (base: number, head: number) => ({ base, head, delta: head - base });
const comparison = {
  overall: { ap50: d(0.8, 0.795) },
  perLabel: {
    car: { ap50: d(0.9, 0.85) },
    person: { ap50: d(0.7, 0.74) },
    dog: { ap50: d(0, 0), onlyIn: 'head' as const },
    cat: { ap50: d(0.3, 0), onlyIn: 'base' as const },
  },
};

gate('passes overall within the allowed drop, fails past it', () => {
  assert.ok(judge(comparison, 'ap50', 0.01, false).passed);
  const v = judge(comparison, 'ap50', 0.001, false);
  assert.not.ok(v.passed);
  assert.equal(v.failures.map((f) => f.scope), ['overall']);
});

gate('per label, fails on any label that dropped, a label the run lost included, one it gained not', () => {
  const v = judge(comparison, 'ap50', 0.01, true);
  assert.equal(v.failures.map((f) => f.scope), ['car', 'cat']);
  assert.ok(judge(comparison, 'ap50', 0.5, true).passed);
});

gate('a drop exactly at the limit passes; a metric the comparison lacks is a usage error', () => {
  assert.ok(judge({ overall: { ap: d(0.5, 0.49) }, perLabel: {} }, 'ap', 0.01, false).passed);
  assert.throws(() => judge({ overall: {}, perLabel: {} }, 'ap', 0.01, false), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseMaxDrop('2'), (e: unknown) => e instanceof UsageError);
  assert.is(parseMaxDrop('0'), 0);
});

gate('a tracking metric is read from the tracking comparison (LocA by its field); none there is a usage error naming the detection metrics', () => {
  const tracked = {
    ...comparison,
    tracking: { overall: { hota: d(0.6, 0.55), locA: d(0.8, 0.8) }, perLabel: { car: { hota: d(0.6, 0.55), locA: d(0.8, 0.8) } } },
  };
  assert.equal(judge(tracked, 'hota', 0.01, true).failures.map((f) => f.scope), ['overall', 'car']);
  assert.ok(judge(tracked, 'hota', 0.05, false).passed);
  assert.ok(judge(tracked, 'loca', 0, true).passed);
  // The detection metric of the same comparison is unchanged by the tracking part.
  assert.ok(judge(tracked, 'ap50', 0.01, false).passed);
  assert.throws(
    () => judge(comparison, 'mota', 0.01, false),
    (e: unknown) => e instanceof UsageError && /neither run carries track ids: no mota to gate on \(gate a detector on ap50, ap/.test(e.message),
  );
});

gate('a floor: overall, and per label only where the label has ground truth; a tracking floor on a run without track ids counts 0', () => {
  const m = (tp: number, fn: number, ap50: number) => ({ tp, fp: 0, fn, precision: 1, recall: tp / Math.max(1, tp + fn), f1: 0, ap50, ap: 0 });
  const evaluation = { overall: m(5, 5, 0.6), perLabel: { car: m(4, 1, 0.8), person: m(1, 4, 0.2), ghost: m(0, 0, 0) } };
  assert.ok(judgeFloor(evaluation, 'ap50', 0.6, false).passed, 'a floor at the value passes');
  assert.equal(judgeFloor(evaluation, 'ap50', 0.61, false).failures, [{ scope: 'overall', value: 0.6 }]);
  // ghost (no ground truth) has nothing to find: not a failure.
  assert.equal(judgeFloor(evaluation, 'ap50', 0.5, true).failures, [{ scope: 'person', value: 0.2 }]);
  assert.equal(judgeFloor(evaluation, 'hota', 0.5, false).failures, [{ scope: 'overall', value: 0 }]);
  // Only the figures the floor reads.
  const tracked = { ...evaluation, tracking: { iouThreshold: 0.5, overall: { hota: 0.7, locA: 0.9, groundTruthBoxes: 3 }, perLabel: { car: { hota: 0.4, locA: 0.9, groundTruthBoxes: 3 } } } } as unknown as EvaluationBody;
  assert.equal(judgeFloor(tracked, 'hota', 0.5, true).failures, [{ scope: 'car', value: 0.4 }]);
  assert.ok(judgeFloor(tracked, 'loca', 0.9, true).passed);
  assert.is(parseMin('-0.5'), -0.5);
  assert.throws(() => parseMin('2'), (e: unknown) => e instanceof UsageError);
});

const parts = suite('cli parts');

parts('NAME@VERSION splits at the last @; tables align numbers right', () => {
  assert.equal(parseModel('yolo@8.1'), { name: 'yolo', version: '8.1' });
  assert.equal(parseModel('org@model@2'), { name: 'org@model', version: '2' });
  assert.equal(parseModel('plain'), { name: 'plain', version: '' });
  assert.throws(() => parseModel('@1'), (e: unknown) => e instanceof UsageError);
  assert.is(formatTable(['label', 'ap'], [['car', 0.5], ['pedestrian', 1]]), 'label           ap\ncar         0.5000\npedestrian       1');
});

usage.run();
gate.run();
parts.run();
