/**
 * The page of the package-API browser tests: the built `annosync/client` (resolved through the
 * package's `exports`, as in an app) and Yjs, on `window.annosync` for `page.evaluate`.
 */
import * as client from 'annosync/client';
import * as Y from 'yjs';

Object.assign(window, { annosync: { client, Y } });
document.title = 'annosync/client ready';
