/**
 * The webhook dispatcher against a real receiver on 127.0.0.1 and a real database: what arrives is
 * signed as documented (checked by the receiver with its own HMAC), failures are retried as
 * documented, and refused addresses are never contacted.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openTestDatabase, type TestDatabase } from '../../tools/databases.ts';
import { silentLogger } from '../../shared/logger.ts';
import { createSecretBox } from '../../persistence/secret-box.ts';
import { createWebhookRepository, type WebhookRepository } from '../../persistence/repositories/webhooks.ts';
import { createEventRepository, type EventRepository } from '../../persistence/repositories/events.ts';
import { createDeliveryRepository, type DeliveryRepository } from '../../persistence/repositories/webhook-deliveries.ts';
import {
  createWebhookDispatcher,
  defaultDispatcherConfig,
  retryDelay,
  type AttemptResult,
  type DispatcherConfig,
  type WebhookDispatcher,
} from '../../server/followers/webhook-dispatcher.ts';
import { checkWebhookUrl, isPrivateAddress, WebhookTargetError } from '../../server/followers/webhook-target.ts';
import { parseRetryAfter } from '../../server/followers/webhook-post.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A receiver answering each request with the next of `answers` (the last one repeats). */
async function receiver(answers: Array<{ status: number; headers?: Record<string, string> }>) {
  const got: Received[] = [];
  const waiters: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const answer = answers[Math.min(got.length - 1, answers.length - 1)]!;
      res.writeHead(answer.status, answer.headers ?? {}).end('ok');
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    got,
    async waitFor(n: number) {
      while (got.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Ctx {
  t: TestDatabase;
  hooks: WebhookRepository;
  events: EventRepository;
  deliveries: DeliveryRepository;
  results: AttemptResult[];
  dispatcher: WebhookDispatcher | null;
  start(config?: Partial<DispatcherConfig>): WebhookDispatcher;
  waitForResult(pred: (r: AttemptResult) => boolean): Promise<AttemptResult>;
}

const test = suite<Ctx>('webhook dispatcher');
test.before.each(async (ctx) => {
  ctx.t = await openTestDatabase('pglite');
  const knex = ctx.t.db.knex;
  await knex('projects').insert({ id: 'p1', name: 'P', description: '', labels: '[]', criteria: '{}' });
  const box = createSecretBox('s'.repeat(32), 'webhook-secrets');
  ctx.hooks = createWebhookRepository({ knex, box });
  ctx.events = createEventRepository({ knex });
  ctx.deliveries = createDeliveryRepository({ knex, box });
  ctx.results = [];
  const waiters: Array<() => void> = [];
  ctx.dispatcher = null;
  ctx.start = (config = {}) => {
    ctx.dispatcher = createWebhookDispatcher({
      deliveries: ctx.deliveries,
      hooks: ctx.hooks,
      logger: silentLogger,
      config: { ...defaultDispatcherConfig, allowPrivate: true, retryBaseMs: 20, pollMs: 50, ...config },
      onAttempt: (r) => {
        ctx.results.push(r);
        waiters.splice(0).forEach((w) => w());
      },
    });
    ctx.dispatcher.start();
    return ctx.dispatcher;
  };
  ctx.waitForResult = async (pred) => {
    for (;;) {
      const found = ctx.results.find(pred);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
});
test.after.each(async (ctx) => {
  await ctx.dispatcher?.stop();
  await ctx.t.cleanup();
});

test('a delivery carries the event, its type, a delivery id and a signature the receiver can verify', async (ctx) => {
  const r = await receiver([{ status: 204 }]);
  try {
    await ctx.hooks.create({ id: 'h1', projectId: 'p1', url: r.url, events: ['test_run.completed'], secret: 'shh', createdBy: 'ada' });
    const { event } = await ctx.events.append({ projectId: 'p1', type: 'test_run.completed', actor: 'ada', data: { runId: 'r1' } });
    ctx.start();
    await r.waitFor(1);
    const [got] = r.got;
    const expected = 'sha256=' + createHmac('sha256', 'shh').update(got!.body).digest('hex');
    assert.is(got!.headers['x-annosync-signature-256'], expected);
    assert.is(got!.headers['x-annosync-event'], 'test_run.completed');
    assert.equal(JSON.parse(got!.body), { id: event.id, type: 'test_run.completed', occurredAt: event.occurredAt, projectId: 'p1', data: { runId: 'r1' } });
    const done = await ctx.waitForResult((x) => x.outcome === 'delivered');
    assert.is(got!.headers['x-annosync-delivery'], done.deliveryId);
  } finally {
    await r.close();
  }
});

test('a 500 is retried with the same delivery id until the receiver takes it', async (ctx) => {
  const r = await receiver([{ status: 500 }, { status: 503 }, { status: 200 }]);
  try {
    await ctx.hooks.create({ id: 'h1', projectId: 'p1', url: r.url, events: ['session.created'], secret: 'k', createdBy: 'ada' });
    await ctx.events.append({ projectId: 'p1', type: 'session.created', actor: null, data: {} });
    ctx.start();
    const done = await ctx.waitForResult((x) => x.outcome === 'delivered');
    assert.is(done.attempt, 3);
    assert.equal(new Set(r.got.map((g) => g.headers['x-annosync-delivery'])).size, 1);
    const page = await ctx.deliveries.list('h1', { limit: 5 });
    assert.equal(page.items.map((d) => [d.status, d.attempts, d.lastStatusCode]), [['delivered', 3, 200]]);
  } finally {
    await r.close();
  }
});

test('alone on its database, the dispatcher reads the outbox when poked and when a retry is due, and never polls', async (ctx) => {
  const r = await receiver([{ status: 503 }, { status: 204 }]);
  let reads = 0;
  const counted: DeliveryRepository = {
    ...ctx.deliveries,
    claim: (opts) => (reads++, ctx.deliveries.claim(opts)),
    nextDue: () => (reads++, ctx.deliveries.nextDue()),
  };
  try {
    await ctx.hooks.create({ id: 'h1', projectId: 'p1', url: r.url, events: ['test_run.completed'], secret: 'shh', createdBy: 'ada' });
    ctx.dispatcher = createWebhookDispatcher({
      deliveries: counted,
      hooks: ctx.hooks,
      logger: silentLogger,
      soleProcess: true,
      // A poll every 20 ms would read the outbox dozens of times during the retry's wait.
      config: { ...defaultDispatcherConfig, allowPrivate: true, retryBaseMs: 800, pollMs: 20 },
      onAttempt: (result) => ctx.results.push(result),
    });
    ctx.dispatcher.start();
    await ctx.events.append({ projectId: 'p1', type: 'test_run.completed', actor: 'ada', data: {} });
    ctx.dispatcher.poke();
    await r.waitFor(2);
    assert.is(r.got[1]!.headers['x-annosync-delivery'], r.got[0]!.headers['x-annosync-delivery'], 'the retry, woken by its due time');
    // The start, the poke and the retry: a claim and a look at what is due after each, a few more when they overlap.
    assert.ok(reads <= 8, `${reads} reads of the outbox`);
  } finally {
    await r.close();
  }
});

test('Retry-After is honoured instead of the shorter backoff', async (ctx) => {
  const r = await receiver([{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }]);
  try {
    await ctx.hooks.create({ id: 'h1', projectId: 'p1', url: r.url, events: ['session.created'], secret: 'k', createdBy: 'ada' });
    await ctx.events.append({ projectId: 'p1', type: 'session.created', actor: null, data: {} });
    ctx.start();
    await ctx.waitForResult((x) => x.outcome === 'delivered');
    assert.ok(r.got[1]!.at - r.got[0]!.at >= 1000, `second attempt ${r.got[1]!.at - r.got[0]!.at} ms after the first`);
  } finally {
    await r.close();
  }
});

test('a 4xx other than 429 fails the delivery at once; failing for the whole window turns the webhook off', async (ctx) => {
  const r = await receiver([{ status: 410 }]);
  try {
    await ctx.hooks.create({ id: 'h1', projectId: 'p1', url: r.url, events: ['session.created'], secret: 'k', createdBy: 'ada' });
    await ctx.events.append({ projectId: 'p1', type: 'session.created', actor: null, data: {} });
    ctx.start({ retryWindowMs: 0 });
    const result = await ctx.waitForResult(() => true);
    assert.equal([result.outcome, result.statusCode, result.attempt], ['failed', 410, 1]);
    const hook = await ctx.hooks.get('p1', 'h1');
    assert.is(hook?.active, false);
    assert.match(hook?.disabledReason ?? '', /failed since/);
  } finally {
    await r.close();
  }
});

test('a receiver on a private address is never contacted unless private addresses are allowed', async (ctx) => {
  const r = await receiver([{ status: 200 }]);
  try {
    await ctx.hooks.create({ id: 'h1', projectId: 'p1', url: r.url, events: ['session.created'], secret: 'k', createdBy: 'ada' });
    await ctx.events.append({ projectId: 'p1', type: 'session.created', actor: null, data: {} });
    ctx.start({ allowPrivate: false, retryBaseMs: 60_000 });
    const result = await ctx.waitForResult(() => true);
    assert.is(result.outcome, 'retry');
    assert.match(result.error ?? '', /private address/);
    assert.is(r.got.length, 0);
  } finally {
    await r.close();
  }
});

test('a webhook URL must be http(s), without credentials, and not private unless allowed', async () => {
  for (const [url, message] of [
    ['ftp://example.com/x', /http or https/],
    ['not a url', /not a valid URL/],
    ['http://user:pw@example.com/', /credentials/],
    ['http://127.0.0.1:8080/', /private or loopback/],
    ['http://[::1]/', /private or loopback/],
    ['http://169.254.169.254/latest', /private or loopback/],
    ['http://10.1.2.3/', /private or loopback/],
  ] as const) {
    try {
      await checkWebhookUrl(url, false);
      assert.unreachable(url);
    } catch (err) {
      assert.instance(err, WebhookTargetError);
      assert.match((err as Error).message, message);
    }
  }
  assert.is((await checkWebhookUrl('http://127.0.0.1:8080/', true)).port, '8080');
  assert.is((await checkWebhookUrl('https://93.184.215.14/hook', false)).pathname, '/hook');
  assert.ok(isPrivateAddress('::ffff:192.168.1.1'));
  assert.not.ok(isPrivateAddress('2606:4700::1111'));
});

test('backoff starts near the base, doubles, stays under the cap; Retry-After reads seconds and dates', () => {
  const cfg = { retryBaseMs: 1000, retryMaxMs: 600_000 };
  assert.equal([1, 2, 3].map((a) => retryDelay(a, cfg, () => 1)), [1000, 2000, 4000]);
  assert.is(retryDelay(1, cfg, () => 0), 500);
  assert.is(retryDelay(30, cfg, () => 1), 600_000);
  assert.is(parseRetryAfter('7', 0), 7000);
  assert.is(parseRetryAfter(new Date(5000).toUTCString(), 0), 5000);
  assert.is(parseRetryAfter('soon', 0), null);
});

test.run();
