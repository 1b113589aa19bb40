/**
 * node-postgres (`pg`), loaded on first use: a server on PGlite never needs it, and does not pay
 * for it at start (~9 MiB of RSS).
 *
 *   const pg = loadPg()      // before knex's Postgres client first asks for its driver
 *
 * When pg loads, its lib/stream.js asks whether it runs on Cloudflare Workers: by a global
 * `navigator` (Node 21 and later define one), else by constructing a `Response`. On Node 20 the
 * first touch of `Response` makes Node load undici, its fetch implementation, which the server
 * never uses: 5 MiB of RSS and 2 MiB of heap at start. So while pg loads, and only then, a
 * `navigator` says what Node 21's says: a Node.js user agent.
 */
import { createRequire } from 'node:module';
import type pgModule from 'pg';

type Pg = typeof pgModule;

let loaded: Pg | null = null;

export function loadPg(): Pg {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  if ('navigator' in globalThis) return (loaded = require('pg') as Pg);
  Object.defineProperty(globalThis, 'navigator', {
    value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` },
    configurable: true,
    writable: true,
  });
  try {
    return (loaded = require('pg') as Pg);
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}
