/**
 * One HTTP request to a bench server, over node:http (no fetch: its pool and its body buffering
 * are part of what a bench would then measure). The body is JSON, or raw bytes with their type.
 *
 *   const reply = await benchRequest(server, 'POST', '/api/projects', { json: { name: 'p' }, token })
 *   reply.status, reply.body   // the body as text
 */
import http from 'node:http';
import type { BenchServer } from './server-process.ts';

export interface BenchReply {
  status: number;
  /** The body as text ('' with `discardBody`). */
  body: string;
  /** Bytes received. */
  bytes: number;
}

export interface BenchRequestOptions {
  /** A bearer token for the authorization header. */
  token?: string;
  /** A JSON body. */
  json?: unknown;
  /** A raw body and its content type. */
  raw?: { type: string; data: Uint8Array };
  /** The connection pool; `false` (the default) opens a fresh connection, which the server cannot close under us. */
  agent?: http.Agent | false;
  /** Count the body's bytes without keeping them (exports of hundreds of MB). */
  discardBody?: boolean;
}

export function benchRequest(server: BenchServer, method: string, path: string, opts: BenchRequestOptions = {}): Promise<BenchReply> {
  const payload = opts.raw ? { type: opts.raw.type, data: opts.raw.data } : opts.json === undefined ? undefined : { type: 'application/json', data: Buffer.from(JSON.stringify(opts.json)) };
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: server.host,
        port: server.port,
        method,
        path,
        agent: opts.agent ?? false,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload ? { 'content-type': payload.type, 'content-length': payload.data.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (!opts.discardBody) chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload?.data);
  });
}
