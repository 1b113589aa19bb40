/**
 * `npm run fuzz [-- --messages N --seed S]`: the long fuzz run. Starts the real server as a child
 * process (as `npm start` does), creates a session over REST, and sends mutated sync and awareness
 * messages over authenticated sockets to it. Prints messages tried, how many got past the socket's
 * auth, closes by code, bugs hit (1011) and whether the process survived. Fails on a bug, a crash,
 * or when fewer than half of the messages got past the auth (the run would have tested nothing).
 */
import { fuzzServer, pastAuth } from '../tools/fuzz.ts';
import { createTestStorage, startChildServer, testTokens } from '../tools/server.ts';
import { createSessionOverRest } from '../tools/sessions.ts';

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npm run fuzz -- [--messages N (200000)] [--seed S]\n');
  process.exit(0);
}

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
const token = await testTokens.sign({ sub: 'fuzz', name: 'fuzz', admin: true });
const { docName } = await createSessionOverRest(child.url, token);
const started = performance.now();
const closes: Record<number, number> = {};
let tried = 0;
let passed = 0;
try {
  for (let round = 0; tried < total && !crashed; round++) {
    const count = Math.min(20_000, total - tried);
    const result = await fuzzServer({
      url: (name) => `${child.url.replace(/^http/, 'ws')}/sync/${name}?token=${token}`,
      docName,
      seed: seed + round,
      count,
      parallel: 32,
    });
    tried += result.tried;
    passed += pastAuth(result);
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
    `fuzz: seed ${seed}, ${tried} messages in ${seconds} s, past the socket's auth: ${passed}, bugs (1011): ${closes[1011] ?? 0}, process crashes: ${alive ? 0 : 1}\n`,
  );
  const reached = passed >= tried / 2;
  if (!reached) process.stderr.write(`fuzz: only ${passed} of ${tried} messages got past the socket's auth: this run tested nothing\n`);
  process.exitCode = alive && !closes[1011] && reached ? 0 : 1;
}
