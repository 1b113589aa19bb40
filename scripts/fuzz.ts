/**
 * `npm run fuzz [-- --messages N --seed S]`: the long fuzz run. Starts the real server as a child
 * process (as `npm start` does), sends mutated sync and awareness messages over real sockets, and
 * prints messages tried, closes by code, bugs hit (1011) and whether the process survived.
 */
import { randomUUID } from 'node:crypto';
import { fuzzServer } from '../tools/fuzz.ts';
import { createTestStorage, startChildServer } from '../tools/server.ts';

const arg = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};

const total = arg('messages', 200_000);
const seed = arg('seed', Math.floor(Math.random() * 2 ** 31));
const storage = await createTestStorage('pglite');
const child = await startChildServer({ ...storage.env, MESSAGES_PER_SECOND: '1000000', MESSAGE_BURST: '1000000' });
let crashed = false;
void child.exited.then(() => (crashed = true));
const started = performance.now();
const closes: Record<number, number> = {};
let tried = 0;
try {
  for (let round = 0; tried < total && !crashed; round++) {
    const count = Math.min(20_000, total - tried);
    const result = await fuzzServer({
      url: (docName) => `${child.url.replace(/^http/, 'ws')}/sync/${docName}`,
      docName: `session:${randomUUID()}`,
      seed: seed + round,
      count,
      parallel: 32,
    });
    tried += result.tried;
    for (const [code, n] of Object.entries(result.closes)) closes[Number(code)] = (closes[Number(code)] ?? 0) + n;
    process.stdout.write(`  ${tried} messages, closes ${JSON.stringify(closes)}\n`);
  }
} finally {
  const alive = !crashed && child.process.exitCode === null;
  child.process.kill('SIGTERM');
  await child.exited;
  await storage.cleanup();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `fuzz: seed ${seed}, ${tried} messages in ${seconds} s, bugs (1011): ${closes[1011] ?? 0}, process crashes: ${alive ? 0 : 1}\n`,
  );
  process.exitCode = alive && !closes[1011] ? 0 : 1;
}
