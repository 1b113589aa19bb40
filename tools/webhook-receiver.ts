/**
 * A webhook receiver on 127.0.0.1 for tests and benches: verifies every signature with its own
 * HMAC (as a receiver following docs/webhooks.md would), answers from a script, and lets a test
 * wait for deliveries instead of sleeping.
 *
 *   const r = await startReceiver({ secret: () => secret })
 *   await r.waitFor((got) => got.some((d) => d.event.type === 'session.created'))
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  deliveryId: string;
  eventType: string;
  event: { id: string; type: string; occurredAt: string; projectId: string; data: Record<string, unknown> };
  signatureValid: boolean;
  at: number;
}

export interface Receiver {
  url: string;
  got: ReceivedDelivery[];
  /** Resolves once `pred(got)` holds; rejects after `timeoutMs`. */
  waitFor(pred: (got: ReceivedDelivery[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(opts: {
  /** The secret signatures are checked against (read at each delivery: it is known only once the webhook exists). */
  secret: () => string | null;
  /** The status to answer delivery number n (0-based) with; 204 by default. */
  answer?: (n: number) => number;
  port?: number;
}): Promise<Receiver> {
  const got: ReceivedDelivery[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const secret = opts.secret();
      const expected = secret === null ? null : 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
      const status = opts.answer?.(got.length) ?? 204;
      if (status >= 200 && status < 300) {
        got.push({
          deliveryId: String(req.headers['x-annosync-delivery']),
          eventType: String(req.headers['x-annosync-event']),
          event: JSON.parse(body) as ReceivedDelivery['event'],
          signatureValid: expected !== null && req.headers['x-annosync-signature-256'] === expected,
          at: Date.now(),
        });
      }
      res.writeHead(status).end();
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    waitFor: (pred, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred(got)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: condition not met within ${timeoutMs} ms; got ${got.map((d) => d.eventType).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
