/**
 * The `annosync` command for scripts and CI (over the REST API; see README "Command line").
 * Every command takes --url/--token (or ANNOSYNC_URL/ANNOSYNC_TOKEN), --json and --help. Errors
 * are mapped to exit codes once, here: 0 done, 1 the answer is "no" (gate failed, import
 * refused), 2 usage, network or server errors — each as one line on stderr, never a stack trace.
 *
 *   process.exitCode = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr })
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
// Bundled into dist/cli/main.js by the build, so an installed package answers with its own version.
import packageJson from '../package.json' with { type: 'json' };
import { contextOf, type GlobalOptions, type Io } from './context.ts';
import { CliError, EXIT } from './errors.ts';
import { compareCommand, type CompareOptions } from './commands/compare.ts';
import { EXPORT_FORMATS, exportCommand, type ExportOptions } from './commands/export.ts';
import { GATE_METRICS, gateCommand, type GateOptions } from './commands/gate.ts';
import { importCommand, type ImportOptions } from './commands/import.ts';
import { releaseCommand, type ReleaseOptions } from './commands/release.ts';
import { MAX_CHUNK, runCommand, type RunOptions } from './commands/run.ts';

const common = (cmd: Command): Command =>
  cmd
    .option('--url <url>', 'server URL (default: $ANNOSYNC_URL, else http://127.0.0.1:1234)')
    .option('--token <jwt>', 'bearer token (default: $ANNOSYNC_TOKEN)')
    .option('--json', 'print the result as JSON on stdout');

const integer = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('not an integer.');
  return n;
};

function program(io: Io): Command {
  const out = { writeOut: (s: string) => void io.stdout.write(s), writeErr: (s: string) => void io.stderr.write(s) };
  const root = new Command('annosync')
    .description('annosync from scripts and CI: export and import ground truth, make releases, score a model run, compare runs, gate on regressions')
    .version(packageJson.version, '-V, --version', 'print the version of annosync')
    .configureOutput(out)
    .showSuggestionAfterError(false)
    .exitOverride();
  const sub = (name: string): Command => common(root.command(name).configureOutput(out).showSuggestionAfterError(false).exitOverride());

  sub('export')
    .description('export a session or a project (live, or a release) as one file')
    .option('--session <id>', 'the session')
    .option('--project <id>', 'every session of the project')
    .addOption(new Option('--format <format>', 'file format').choices(EXPORT_FORMATS).makeOptionMandatory())
    .option('--release <name>', 'export this release instead of the live content')
    .requiredOption('-o, --output <file>', "where to write ('-' for stdout)")
    .option('--keyframes-only', 'only drawn boxes, no interpolated ones')
    .option('--all-frames', 'every frame, also those without boxes')
    .action((o: ExportOptions & GlobalOptions) => exportCommand(contextOf(o, io), o));

  sub('import')
    .description('import a file into a session, all or nothing (exit 1 with located problems when refused)')
    .argument('<file>', 'the file to import')
    .requiredOption('--session <id>', 'the session')
    .addOption(new Option('--format <format>', 'file format').choices(EXPORT_FORMATS).makeOptionMandatory())
    .addOption(new Option('--mode <mode>', 'merge upserts by id; replace swaps the content').choices(['merge', 'replace']).default('merge'))
    .option('--dry-run', 'check and count without changing the session')
    .option('--strict-labels', 'refuse labels the session does not have')
    .action((file: string, o: ImportOptions & GlobalOptions) => importCommand(contextOf(o, io), file, o));

  sub('release')
    .description("freeze a session's ground truth (or every session of a project) as an immutable release")
    .option('--session <id>', 'the session')
    .option('--project <id>', 'every session of the project, under one name, in one transaction')
    .requiredOption('--name <name>', 'release name, unique per session')
    .option('--note <text>', 'what this release is')
    .action((o: ReleaseOptions & GlobalOptions) => releaseCommand(contextOf(o, io), o));

  sub('run')
    .description('create a test run, upload its detections, follow it to completion and print the evaluation')
    .requiredOption('--project <id>', 'the project')
    .requiredOption('--video <id>', 'the video the model ran on')
    .requiredOption('--session <id>', 'the session whose ground truth scores the run')
    .requiredOption('--model <name@version>', 'the model, as NAME@VERSION')
    .requiredOption('--detections <file>', 'detections: JSON array, COCO results JSON, CSV/TSV frame,label,x,y,w,h,score[,trackId], or MOTChallenge tracker output frame,id,x,y,w,h,conf,…')
    .option('--release <name>', 'score against this release (default: the server makes one now)')
    .option('--chunk-size <n>', `detections per request (1…${MAX_CHUNK})`, integer, 10_000)
    .option('--clip', 'clip boxes that cross the frame edge instead of refusing them (not for MOT tracker output, which keeps them)')
    .action((o: RunOptions & GlobalOptions) => runCommand(contextOf(o, io), o));

  sub('compare')
    .description('print two runs on one release side by side: every metric of base and head and the delta, per label, and the tracking metrics')
    .requiredOption('--base <id>', 'the run to compare with')
    .requiredOption('--head <id>', 'the run compared')
    .action((o: CompareOptions & GlobalOptions) => compareCommand(contextOf(o, io), o));

  sub('gate')
    .description('exit 1 when a run is worse than a baseline run by more than --max-drop, or below --min')
    .requiredOption('--run <id>', 'the run to check (head)')
    .option('--baseline <id>', 'the run to compare with (base), on the same release')
    .addOption(new Option('--metric <metric>', 'metric to gate on (hota … loca: a tracker\'s)').choices(GATE_METRICS).default('ap50'))
    .option('--max-drop <value>', 'largest allowed drop of the metric against --baseline', '0.01')
    .option('--min <value>', 'lowest allowed value of the metric (with or without --baseline)')
    .option('--per-label', 'also fail when any single label drops by more')
    .action((o: GateOptions & GlobalOptions) => gateCommand(contextOf(o, io), o));

  return root;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const root = program(io);
  if (argv.length === 0) {
    io.stderr.write(root.helpInformation());
    return EXIT.usage;
  }
  try {
    await root.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with exit code 0; commander has already printed its one-line error otherwise.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const json = argv.includes('--json');
    if (err instanceof CliError) {
      io.stderr.write(`annosync: ${err.message}\n`);
      if (json && err.code !== 'import_refused' && err.code !== 'gate_failed') io.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
      return err.exitCode;
    }
    // A bug of ours: still one line, and the usage/server exit code.
    io.stderr.write(`annosync: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    return EXIT.usage;
  }
}
