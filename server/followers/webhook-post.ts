/**
 * One webhook POST (docs/webhooks.md "Delivery"): signed body, a time limit on the whole exchange,
 * no redirects followed (a 3xx is an answer like any other), at most 64 KiB of the answer read, and
 * the address checked when the socket connects (server/services/webhook-target.ts).
 *
 * The signature is GitHub's scheme: `X-Annosync-Signature-256: sha256=<hex HMAC-SHA256 of the raw
 * body>`; the body carries `occurredAt`, so the time is inside what is signed.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPrivateAddress, WebhookTargetError } from './webhook-target.ts';

export const maxAnswerBytes = 64 * 1024;

export interface WebhookPost {
  url: string;
  body: string;
  secret: string;
  eventType: string;
  deliveryId: string;
}

export interface WebhookAnswer {
  statusCode: number;
  /** From Retry-After (seconds or an HTTP date), when the receiver sent one. */
  retryAfterMs: number | null;
  /** The start of the answer's body, at most 64 KiB. */
  body: string;
}

export function sign(body: string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Resolves with the receiver's answer; rejects on timeouts, refused addresses and connection errors. */
export function postWebhook(
  post: WebhookPost,
  opts: { timeoutMs: number; allowPrivate: boolean; agents?: { http: http.Agent; https: https.Agent } },
): Promise<WebhookAnswer> {
  const url = new URL(post.url);
  const client = url.protocol === 'https:' ? https : http;
  // Node connects to an address literal without calling `lookup`: check it here.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!opts.allowPrivate && isIP(host) && isPrivateAddress(host)) {
    return Promise.reject(new WebhookTargetError(`${host} is a private address`));
  }
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: 'POST',
      ...(opts.agents ? { agent: url.protocol === 'https:' ? opts.agents.https : opts.agents.http } : {}),
      lookup: guardedLookup(opts.allowPrivate) as never,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(post.body),
        'user-agent': 'annosync-webhooks',
        'x-annosync-event': post.eventType,
        'x-annosync-delivery': post.deliveryId,
        'x-annosync-signature-256': sign(post.body, post.secret),
      },
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        clearTimeout(timer);
        resolve({
          statusCode: res.statusCode ?? 0,
          retryAfterMs: parseRetryAfter(res.headers['retry-after'], Date.now()),
          body: Buffer.concat(chunks).toString('utf8'),
        });
      };
      res.on('data', (chunk: Buffer) => {
        if (size >= maxAnswerBytes) return;
        chunks.push(chunk.subarray(0, maxAnswerBytes - size));
        size += chunk.length;
        // Enough read: stop taking the rest instead of buffering a receiver's endless answer.
        if (size >= maxAnswerBytes) {
          res.destroy();
          done();
        }
      });
      res.on('end', done);
      res.on('error', () => done());
    });
    req.end(post.body);
  });
}
