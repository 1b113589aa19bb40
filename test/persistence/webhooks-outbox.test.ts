/**
 * The outbox, deliveries, webhook and history repositories over the real migrations, on PGlite
 * (and Postgres with DATABASE_URL): an event and its deliveries commit or roll back with the
 * change, claims never hand one delivery to two dispatchers, a lease that ends frees a delivery.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../../tools/databases.ts';
import { openDatabase, type Database } from '../../persistence/database.ts';
import { createSecretBox, SecretBoxError } from '../../persistence/secret-box.ts';
import { createWebhookRepository, type WebhookRepository } from '../../persistence/repositories/webhooks.ts';
import { createEventRepository, type EventRepository } from '../../persistence/repositories/events.ts';
import { createDeliveryRepository, type DeliveryRepository } from '../../persistence/repositories/webhook-deliveries.ts';
import { createHistoryRepository, type HistoryRepository } from '../../persistence/repositories/annotation-history.ts';

interface Ctx {
  t: TestDatabase;
  hooks: WebhookRepository;
  events: EventRepository;
  deliveries: DeliveryRepository;
  history: HistoryRepository;
}

const box = createSecretBox('x'.repeat(32), 'webhook-secrets');

const hook = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  projectId: 'p1',
  url: `http://127.0.0.1:9/${id}`,
  events: ['test_run.completed' as const],
  secret: `secret-${id}`,
  createdBy: 'ada',
  ...over,
});

for (const kind of databaseKinds()) {
  const test = suite<Ctx>(`webhooks and outbox (${kind})`);
  test.before.each(async (ctx) => {
    ctx.t = await openTestDatabase(kind);
    const knex = ctx.t.db.knex;
    await knex('projects').insert({ id: 'p1', name: 'P', description: '', labels: '[]', criteria: '{}' });
    ctx.hooks = createWebhookRepository({ knex, box });
    ctx.events = createEventRepository({ knex });
    ctx.deliveries = createDeliveryRepository({ knex, box });
    ctx.history = createHistoryRepository({ knex });
  });
  test.after.each(async (ctx) => ctx.t.cleanup());

  test('a secret is stored sealed and only secretOf opens it', async ({ t, hooks }) => {
    const created = await hooks.create(hook('h1'));
    assert.not.ok('secret' in created);
    const row = await t.db.knex('webhooks').where({ id: 'h1' }).first();
    assert.not.ok(JSON.stringify(row).includes('secret-h1'));
    assert.is(await hooks.secretOf('h1'), 'secret-h1');
    assert.throws(() => createSecretBox('y'.repeat(32), 'webhook-secrets').open(row.secret_sealed), (e: unknown) => e instanceof SecretBoxError);
  });

  test('an event gets one delivery per active webhook subscribed to its type', async ({ hooks, events, deliveries }) => {
    await hooks.create(hook('h1'));
    await hooks.create(hook('h2', { events: ['session.created'] }));
    await hooks.create(hook('h3', { active: false }));
    const { event, deliveries: count } = await events.append({ projectId: 'p1', type: 'test_run.completed', actor: 'ada', data: { runId: 'r1' } });
    assert.is(count, 1);
    const claimed = await deliveries.claim({ limit: 10, leaseMs: 60_000 });
    assert.equal(claimed.map((c) => [c.webhookId, c.event.id, c.attempt]), [['h1', event.id, 1]]);
    assert.equal(claimed[0]!.event.data, { runId: 'r1' });
  });

  test('an event appended in a transaction that rolls back leaves no event and no delivery', async ({ t, hooks, events }) => {
    await hooks.create(hook('h1'));
    await t.db.knex
      .transaction(async (trx) => {
        await events.append({ projectId: 'p1', type: 'test_run.completed', actor: null, data: {} }, trx);
        throw new Error('the change failed');
      })
      .catch(() => undefined);
    assert.is(Number((await t.db.knex('events').count({ n: '*' }))[0]!.n), 0);
    assert.is(Number((await t.db.knex('webhook_deliveries').count({ n: '*' }))[0]!.n), 0);
  });

  test('a claimed delivery is not claimed again while its lease runs, and is once it has ended', async ({ hooks, events, deliveries }) => {
    await hooks.create(hook('h1'));
    await events.append({ projectId: 'p1', type: 'test_run.completed', actor: null, data: {} });
    // A lease already over stands for a dispatcher killed mid-delivery.
    const first = await deliveries.claim({ limit: 10, leaseMs: -1000 });
    assert.is(first.length, 1);
    const again = await deliveries.claim({ limit: 10, leaseMs: 60_000 });
    assert.equal(again.map((c) => [c.id, c.attempt]), [[first[0]!.id, 2]]);
    assert.equal(await deliveries.claim({ limit: 10, leaseMs: 60_000 }), []);
  });

  test('attempts are recorded: retry later, then delivered; a redelivery queues it again', async ({ hooks, events, deliveries }) => {
    await hooks.create(hook('h1'));
    await events.append({ projectId: 'p1', type: 'test_run.completed', actor: null, data: {} });
    const [c] = await deliveries.claim({ limit: 1, leaseMs: 60_000 });
    const later = new Date(Date.now() + 3_600_000);
    await deliveries.retryAt(c!.id, later, { statusCode: 503, error: 'HTTP 503' });
    assert.equal(await deliveries.claim({ limit: 1, leaseMs: 60_000 }), []);
    assert.is((await deliveries.nextDue())?.toISOString(), later.toISOString());
    let page = await deliveries.list('h1', { limit: 10 });
    assert.equal(page.items.map((d) => [d.status, d.attempts, d.lastStatusCode, d.eventType]), [['pending', 1, 503, 'test_run.completed']]);
    await deliveries.delivered([{ id: c!.id, statusCode: 204 }]);
    page = await deliveries.list('h1', { limit: 10 });
    assert.equal(page.items.map((d) => [d.status, d.lastStatusCode, d.nextAttemptAt]), [['delivered', 204, null]]);
    assert.is(await deliveries.nextDue(), null);
    assert.is(await deliveries.redeliver('h2', c!.id), null);
    const again = await deliveries.redeliver('h1', c!.id);
    assert.is(again?.status, 'pending');
    assert.equal((await deliveries.claim({ limit: 1, leaseMs: 60_000 })).map((d) => d.attempt), [2]);
  });

  test('a webhook turned off by the server says why; turning it on clears that', async ({ hooks }) => {
    await hooks.create(hook('h1'));
    const at = new Date('2026-01-01T00:00:00Z');
    assert.is(await hooks.noteFailure('h1', at), at.toISOString());
    assert.is(await hooks.noteFailure('h1', new Date()), at.toISOString());
    await hooks.disable('h1', 'every delivery failed for 24 h');
    let got = await hooks.get('p1', 'h1');
    assert.equal([got?.active, got?.disabledReason], [false, 'every delivery failed for 24 h']);
    got = await hooks.update('p1', 'h1', { active: true });
    assert.equal([got?.active, got?.disabledReason, got?.failingSince], [true, null, null]);
    assert.is(await hooks.update('p2', 'h1', { active: false }), null);
  });

  test('history lists oldest first, filters by author, kind and annotation, and pages', async ({ history }) => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    await history.append([
      { sessionId: 's1', annotationId: 'a1', at: at(1), by: 'ada', origin: 'socket', kind: 'created', fields: {} },
      { sessionId: 's1', annotationId: 'a1', at: at(2), by: 'bob', origin: 'rest', kind: 'changed', fields: { label: { from: 'car', to: 'bus' } } },
      { sessionId: 's1', trackId: 't1', at: at(3), by: 'ada', origin: 'import', kind: 'created', fields: {} },
      { sessionId: 's2', annotationId: 'a1', at: at(4), by: 'ada', origin: 'socket', kind: 'deleted', fields: {} },
    ]);
    const all = await history.list('s1', { limit: 2 });
    assert.equal(all.items.map((e) => e.by), ['ada', 'bob']);
    const rest = await history.list('s1', { limit: 2, cursor: all.nextCursor! });
    assert.equal(rest.items.map((e) => [e.trackId, e.origin]), [['t1', 'import']]);
    assert.is(rest.nextCursor, null);
    assert.equal((await history.list('s1', { limit: 10, by: 'bob' })).items[0]!.fields, { label: { from: 'car', to: 'bus' } });
    assert.equal((await history.list('s1', { limit: 10, annotationId: 'a1', kind: 'created' })).items.map((e) => e.at), [at(1).toISOString()]);
    assert.equal((await history.list('s1', { limit: 10, since: at(2) })).items.length, 2);
  });

  test('history entries one past a statement of 1 000 are all stored, in order, each as given', async ({ history }) => {
    const at = new Date(Date.UTC(2026, 0, 2));
    await history.append(
      Array.from({ length: 1001 }, (_, i) => ({ sessionId: 's-many', annotationId: `a${i}`, at, by: 'ada', origin: 'import' as const, kind: 'changed' as const, fields: { frame: { from: i, to: i + 1 } } })),
    );
    const page = await history.list('s-many', { limit: 2000 });
    assert.equal(page.items.map((e) => e.annotationId), Array.from({ length: 1001 }, (_, i) => `a${i}`));
    assert.equal(page.items[1000]!.fields, { frame: { from: 1000, to: 1001 } });
  });

  test('the activity list is newest first and filters by type', async ({ events }) => {
    for (const [type, s] of [['session.created', 1], ['import.completed', 2], ['test_run.created', 3]] as const) {
      await events.append({ projectId: 'p1', type, actor: 'ada', data: {}, occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, s)) });
    }
    const page = await events.list('p1', { limit: 2, types: ['import.completed', 'test_run.created'] });
    assert.equal(page.items.map((e) => e.type), ['test_run.created', 'import.completed']);
    assert.is(page.nextCursor, null);
    const first = await events.list('p1', { limit: 1 });
    assert.equal((await events.list('p1', { limit: 5, cursor: first.nextCursor! })).items.map((e) => e.type), ['import.completed', 'session.created']);
  });

  test('presence notes appended in one batch keep their order, time, actor and data, and get no delivery', async ({ t, hooks, events }) => {
    await hooks.create(hook('h1', { events: ['session.created'] }));
    const at = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
    const notes = Array.from({ length: 300 }, (_, i) => ({
      projectId: 'p1',
      type: i % 2 === 0 ? ('session.joined' as const) : ('session.left' as const),
      actor: i === 7 ? 'ada' : null,
      data: { sessionId: 's1', clientId: i, ...(i === 3 ? { name: 'Grace "G" Hopper', nested: [1, { x: null }] } : {}) },
      ...(i === 0 ? { occurredAt: at } : {}),
    }));
    const before = Date.now();
    await events.appendMany(notes);
    const recent = (await events.recent('p1', ['session.joined', 'session.left'], 1_000)).reverse();
    assert.equal(recent.map((e) => e.data.clientId), notes.map((_, i) => i));
    assert.ok(recent.every((e, i) => i === 0 || e.seq > recent[i - 1]!.seq));
    assert.is(recent[0]!.occurredAt, at.toISOString());
    assert.ok(recent.slice(1).every((e) => Date.parse(e.occurredAt) >= before - 1 && Date.parse(e.occurredAt) <= Date.now()));
    assert.equal(recent[3]!.data, { sessionId: 's1', clientId: 3, name: 'Grace "G" Hopper', nested: [1, { x: null }] });
    assert.equal([recent[7]!.actor, recent[8]!.actor], ['ada', null]);
    assert.is(recent[1]!.type, 'session.left');
    assert.is(Number((await t.db.knex('webhook_deliveries').count({ n: '*' }))[0]!.n), 0);
  });

  test('a batch of presence notes larger than one statement is stored whole and in order, or not at all', async ({ t, events }) => {
    // ~0.8 MB of JSON: more than one statement on either database (persistence/statement-size.ts).
    const notes = (projectOfLast: string) =>
      Array.from({ length: 4000 }, (_, i) => ({
        projectId: i === 3999 ? projectOfLast : 'p1',
        type: 'session.joined' as const,
        actor: null,
        data: { sessionId: 's1', clientId: i, pad: 'x'.repeat(100) },
      }));
    const count = async () => Number((await t.db.knex('events').count({ n: '*' }))[0]!.n);
    const before = await count();
    try {
      await events.appendMany(notes('no-such-project'));
      assert.unreachable('the last note names a project that does not exist');
    } catch (err) {
      assert.not.instance(err, assert.Assertion);
    }
    assert.is(await count(), before, 'nothing of the failed batch is stored');
    await events.appendMany(notes('p1'));
    const stored = (await events.recent('p1', ['session.joined'], 5_000)).reverse();
    assert.equal(stored.map((e) => e.data.clientId), Array.from({ length: 4000 }, (_, i) => i));
    assert.ok(stored.every((e, i) => i === 0 || e.seq > stored[i - 1]!.seq));
  });

  if (kind === 'postgres') {
    test('two dispatchers on two pools claiming at once never take the same delivery', async ({ t, hooks, events }) => {
      await hooks.create(hook('h1'));
      for (let i = 0; i < 40; i++) await events.append({ projectId: 'p1', type: 'test_run.completed', actor: null, data: { i } });
      const other: Database = await openDatabase(t.config);
      try {
        const a = createDeliveryRepository({ knex: t.db.knex, box });
        const b = createDeliveryRepository({ knex: other.knex, box });
        const claims = await Promise.all([0, 1, 2, 3].map((i) => (i % 2 ? a : b).claim({ limit: 15, leaseMs: 60_000 })));
        const ids = claims.flat().map((c) => c.id);
        assert.is(new Set(ids).size, ids.length);
        assert.is(ids.length, 40);
      } finally {
        await other.close();
      }
    });
  }

  test.run();
}
