/**
 * Query strings reach the routes decoded, whichever path parses them: route.ts splits simple ones
 * itself (a measured 3 % of a one-frame GET) and leaves escapes, `+` and repeated keys to koa.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { databaseKinds } from '../../tools/databases.ts';
import { linkedSession, type AnnotationPageBody, withApiServer, type ApiSuiteContext } from '../../tools/api.ts';

const kind = databaseKinds()[0]!;
const test = suite<ApiSuiteContext>(`query strings (${kind})`);
withApiServer(test, kind);

test('simple, escaped, plus-encoded and repeated query parameters all mean what they say', async ({ t }) => {
  const { session } = await linkedSession(t.http, { project: { labels: [{ name: 'car' }, { name: 'traffic light' }] } });
  const path = `/api/sessions/${session.id}/annotations`;
  const made = await t.http.post(path, [
    { frame: 3, bbox: [1, 1, 5, 5], label: 'car' },
    { frame: 3, bbox: [9, 9, 5, 5], label: 'traffic light' },
    { frame: 4, bbox: [1, 1, 5, 5], label: 'traffic light' },
  ]);
  assert.is(made.status, 201, made.text);
  const labels = async (query: string): Promise<string[]> => {
    const res = await t.http.get<AnnotationPageBody>(`${path}?${query}`);
    assert.is(res.status, 200, `${query}: ${res.text}`);
    return res.body.items.map((a) => `${a.frame}:${a.label}`).sort();
  };
  assert.equal(await labels('frame=3&limit=10'), ['3:car', '3:traffic light']);
  assert.equal(await labels('label=traffic%20light'), ['3:traffic light', '4:traffic light']);
  assert.equal(await labels('label=traffic+light&frame=4'), ['4:traffic light']);
  assert.equal(await labels('fromFrame=4&toFrame=4'), ['4:traffic light']);
  const repeated = await t.http.get(`${path}?frame=3&frame=4`);
  assert.is(repeated.status, 400, 'a repeated key is not silently narrowed to one value');
});

test.run();
