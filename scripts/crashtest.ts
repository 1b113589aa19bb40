/**
 * `npm run crashtest [-- --kills 20 --clients 20 --seed S]`: clients edit a session created over
 * REST, with tokens and durable acknowledgements, while the server is killed with SIGKILL at random
 * moments and restarted (tools/crashtest.ts).
 *
 * Prints: acknowledged edits, lost ones (must be 0), and how many kills landed while writes were
 * in flight (a client had sent edits the server had not yet acknowledged) — most must, or the run
 * proves nothing. Fails otherwise.
 */
import { runCrashtest } from '../tools/crashtest.ts';

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npm run crashtest -- [--kills N (20)] [--clients N (20)] [--seed S]\n');
  process.exit(0);
}
const arg = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};

const seed = arg('seed', Math.floor(Math.random() * 2 ** 31));
// First, so a run that fails before its report can still be replayed.
process.stdout.write(`crashtest: seed ${seed} (replay with --seed ${seed})\n`);
const report = await runCrashtest({
  kills: arg('kills', 20),
  clients: arg('clients', 20),
  seed,
  progress: (line) => process.stdout.write(`${line}\n`),
});
const { lost, killsMidWrite, kills } = report;
process.stdout.write(
  [
    `crashtest on ${report.kind}: seed ${report.seed}, ${report.clients} clients, ${kills} SIGKILLs in ${report.seconds.toFixed(1)} s`,
    `  edits made: ${report.made}, acknowledged before the final flush: ${report.ackedBeforeEnd}, acknowledged in all: ${report.acknowledged}`,
    `  lost acknowledged edits: ${lost.length}${lost.length ? ` (${lost.slice(0, 5).join(', ')} …)` : ''}`,
    `  kills while writes were in flight: ${killsMidWrite} of ${kills}`,
    '',
  ].join('\n'),
);
const midWriteEnough = killsMidWrite * 2 > kills;
if (!midWriteEnough) process.stderr.write(`crashtest: only ${killsMidWrite} of ${kills} kills landed mid-write: the run proves little\n`);
process.exitCode = lost.length === 0 && report.acknowledged > 0 && midWriteEnough ? 0 : 1;
