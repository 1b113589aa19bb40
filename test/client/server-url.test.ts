/** The one server URL an app is configured with gives both addresses, whatever form it takes. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiUrl, syncUrl } from '../../client/server-url.ts';

const test = suite('client server URLs');

test('http, https, ws and wss forms, with or without /sync and trailing slashes, give the same two addresses', () => {
  const cases: Array<[string, string, string]> = [
    ['http://127.0.0.1:1234', 'ws://127.0.0.1:1234/sync', 'http://127.0.0.1:1234'],
    ['http://127.0.0.1:1234/', 'ws://127.0.0.1:1234/sync', 'http://127.0.0.1:1234'],
    ['ws://127.0.0.1:1234/sync', 'ws://127.0.0.1:1234/sync', 'http://127.0.0.1:1234'],
    ['https://a.example/annosync/', 'wss://a.example/annosync/sync', 'https://a.example/annosync'],
    ['wss://a.example/annosync/sync/', 'wss://a.example/annosync/sync', 'https://a.example/annosync'],
  ];
  for (const [input, sync, api] of cases) {
    assert.is(syncUrl(input), sync, input);
    assert.is(apiUrl(input), api, input);
  }
});

test.run();
