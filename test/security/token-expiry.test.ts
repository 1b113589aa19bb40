/**
 * A sync socket does not outlive its token: auth happens once, before the upgrade, so the server
 * closes an open connection with 4401 when its token's `exp` passes (a revoked annotator cannot
 * keep editing by keeping the socket open). What it sent before then stays applied and stored, and
 * the other clients on the document are not disturbed. Real `WebsocketProvider` clients, real sockets.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { decodeJwt } from 'jose';
import type { WebsocketProvider } from 'y-websocket';
import { addAnnotation, listAnnotations } from '../../docs-model/index.ts';
import type { TestServer } from '../../tools/server.ts';
import { joinSynced, withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { newSessionDoc } from '../../tools/api.ts';
import { waitFor } from '../../tools/databases.ts';

/** Seconds a short token lives at most (`exp` is whole seconds, so at least one less). */
const SHORT_TOKEN_SECONDS = 3;
/** The server's clock and ours are one clock here; this is slack for `exp`'s whole seconds only. */
const CLOCK_SLACK_MS = 1000;

const nowSeconds = () => Math.floor(Date.now() / 1000);

const test = suite<SocketSuiteContext>('token expiry on open sockets');

withServerAndClients(test, 'pglite');

/** An annotator token on the project; `expiresIn` as jose takes it (absolute seconds or '1h'). */
const annotatorToken = (ctx: SocketSuiteContext, sub: string, projectId: string, expiresIn: number | string) =>
  ctx.app.token({ sub, name: sub, projects: { [projectId]: 'annotator' } }, { expiresIn });

/** The next close the server sends the provider, and when it came; rejects after `timeoutMs`. */
function closeWithin(provider: WebsocketProvider, timeoutMs: number): Promise<{ code: number; reason: string; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      provider.off('connection-close', onClose);
      reject(new Error(`no close within ${timeoutMs} ms`));
    }, timeoutMs);
    const onClose = (event: CloseEvent | null) => {
      clearTimeout(timer);
      provider.off('connection-close', onClose);
      resolve({ code: event?.code ?? 0, reason: event?.reason ?? '', at: Date.now() });
    };
    provider.on('connection-close', onClose);
  });
}

/** Counts every close of the provider's socket from now on. */
function countCloses(provider: WebsocketProvider): () => number {
  let closes = 0;
  provider.on('connection-close', () => closes++);
  return () => closes;
}

const annotationIds = (doc: Y.Doc) => listAnnotations(doc).map((a) => a.id).sort();

/** Annotations whose updates are committed in the update log (a fresh doc from the stored rows). */
async function storedAnnotationIds(app: TestServer, docName: string): Promise<string[]> {
  await app.server.log.flush();
  const fresh = new Y.Doc();
  for (const update of await app.server.store.load(docName)) Y.applyUpdate(fresh, update);
  return annotationIds(fresh);
}

const closes4401 = async (app: TestServer) =>
  (await app.server.metrics.closes.get()).values.find((v) => v.labels.code === '4401')?.value ?? 0;

test('a client whose token expires is closed with 4401 at exp, stops reconnecting, and what it sent before is kept and stored', async (ctx) => {
  const { docName, projectId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  // The long-lived client loads the document first, so the short token's life goes to editing.
  const long = await joinSynced(ctx, docName, await annotatorToken(ctx, 'long', projectId, '1h'));
  const shortToken = await annotatorToken(ctx, 'short', projectId, nowSeconds() + SHORT_TOKEN_SECONDS);
  const expMs = (decodeJwt(shortToken).exp as number) * 1000;
  const short = await joinSynced(ctx, docName, shortToken);
  const closing = closeWithin(short.provider, expMs - Date.now() + 10_000);
  const closesBefore = await closes4401(ctx.app);

  const sent: string[] = [];
  for (let i = 0; i < 5; i++) {
    sent.push(addAnnotation(short.doc, { id: `before-exp-${i}`, frame: i, bbox: [i, i, 10, 10], label: 'car' }, { by: 'short' }).id);
  }
  await waitFor(() => sent.every((id) => long.doc.getMap('annotations').has(id)), { message: 'edits made before exp reach the other client' });

  const { code, reason, at } = await closing;
  assert.is(code, 4401);
  assert.is(reason, 'token expired');
  assert.ok(at >= expMs - CLOCK_SLACK_MS, `closed ${expMs - at} ms before exp`);
  assert.is(short.provider.shouldConnect, false, 'the stock client stops reconnecting on 4401');

  assert.equal(annotationIds(long.doc), sent.slice().sort(), 'the other client keeps what was sent before exp');
  assert.equal(await storedAnnotationIds(ctx.app, docName), sent.slice().sort(), 'what was sent before exp is committed');
  // The server counts the close under its code once the client's closing handshake is done.
  await waitFor(async () => (await closes4401(ctx.app)) > closesBefore, { message: 'the close is counted under 4401' });
});

test('clients with a long-lived token and with no exp stay connected after another expired, and their edits still travel', async (ctx) => {
  const { docName, projectId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  const long = await joinSynced(ctx, docName, await annotatorToken(ctx, 'long', projectId, '1h'));
  // The admin token has no `exp`: nothing ever expires it.
  assert.is(decodeJwt(ctx.app.adminToken).exp, undefined);
  const forever = await joinSynced(ctx, docName, ctx.app.adminToken);
  const longCloses = countCloses(long.provider);
  const foreverCloses = countCloses(forever.provider);

  const shortToken = await annotatorToken(ctx, 'short', projectId, nowSeconds() + SHORT_TOKEN_SECONDS);
  const expMs = (decodeJwt(shortToken).exp as number) * 1000;
  const short = await joinSynced(ctx, docName, shortToken);
  const { code, at } = await closeWithin(short.provider, expMs - Date.now() + 10_000);
  assert.is(code, 4401);
  assert.ok(at >= expMs - CLOCK_SLACK_MS, `closed ${expMs - at} ms before exp`);

  addAnnotation(long.doc, { id: 'from-long', frame: 0, bbox: [0, 0, 10, 10], label: 'car' }, { by: 'long' });
  addAnnotation(forever.doc, { id: 'from-forever', frame: 1, bbox: [1, 1, 10, 10], label: 'car' }, { by: 'forever' });
  await waitFor(() => long.doc.getMap('annotations').has('from-forever') && forever.doc.getMap('annotations').has('from-long'), {
    message: 'edits after the expiry still reach the others',
  });
  assert.is(longCloses(), 0, 'the long-lived client was never closed');
  assert.is(foreverCloses(), 0, 'the client without exp was never closed');
  assert.ok(long.provider.wsconnected && forever.provider.wsconnected);
  assert.ok(!short.doc.getMap('annotations').has('from-long'), 'the expired client receives nothing more');
});

test.run();
