/**
 * Delivers the outbox (docs/webhooks.md): claims due deliveries (persistence/repositories/
 * webhook-deliveries.ts, safe across processes), POSTs each, and records the outcome. Retries on
 * timeouts, connection errors, 429 and 5xx, with exponential backoff and jitter (about `retryBaseMs`
 * first, doubling, capped at `retryMaxMs`; a Retry-After is honoured) until `retryWindowMs` after the
 * event; then the delivery is failed. Any other answer fails it at once. A webhook whose deliveries
 * have all failed for `retryWindowMs` is turned off, with the reason on it.
 *
 * It wakes when told an event was appended (`poke`) and otherwise polls at most `pollMs` apart, so
 * an event appended by another process is delivered within about that time too. A process alone on
 * its database (`soleProcess`) has no other process to hear from: it wakes when poked or when the
 * earliest retry or lease is due, and never polls.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../shared/logger.ts';
import type { ClaimedDelivery, DeliveryRepository } from '../../persistence/repositories/webhook-deliveries.ts';
import type { WebhookRepository } from '../../persistence/repositories/webhooks.ts';
import { postWebhook, type WebhookAnswer } from './webhook-post.ts';

export interface DispatcherConfig {
  retryBaseMs: number;
  retryMaxMs: number;
  retryWindowMs: number;
  timeoutMs: number;
  allowPrivate: boolean;
  pollMs: number;
  batch: number;
}

export const defaultDispatcherConfig: DispatcherConfig = {
  retryBaseMs: 1000,
  retryMaxMs: 600_000,
  retryWindowMs: 24 * 3600_000,
  timeoutMs: 10_000,
  allowPrivate: false,
  pollMs: 1000,
  batch: 32,
};

/** How long a process alone on its database sleeps when nothing is due (setTimeout's limit is ~24.8 days). */
const SOLE_PROCESS_POLL_MS = 2 ** 31 - 1;

/** Backoff before attempt `attempt + 1`: base·2^(attempt−1) capped at max, from half to all of it. */
export function retryDelay(attempt: number, cfg: Pick<DispatcherConfig, 'retryBaseMs' | 'retryMaxMs'>, random: () => number): number {
  const full = Math.min(cfg.retryMaxMs, cfg.retryBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

const retryable = (status: number) => status === 429 || status >= 500;

export interface AttemptResult {
  deliveryId: string;
  webhookId: string;
  attempt: number;
  outcome: 'delivered' | 'retry' | 'failed';
  statusCode: number | null;
  error: string | null;
  /** When the next attempt is due, for a retry. */
  nextAttemptAt: number | null;
}

export interface WebhookDispatcher {
  start(): void;
  /** An event was appended: look for due deliveries now. */
  poke(): void;
  /** Stops claiming and waits for the deliveries under way. Idempotent. */
  stop(): Promise<void>;
}

export function createWebhookDispatcher(deps: {
  deliveries: DeliveryRepository;
  hooks: WebhookRepository;
  logger: Logger;
  config: DispatcherConfig;
  random?: () => number;
  /**
   * This process is the only one on its database (embedded PGlite): a lease found at start was
   * left by a killed run of this very server, so it is ended at once instead of waited out, and no
   * event can appear without a `poke`, so nothing is polled.
   */
  soleProcess?: boolean;
  /** Told of every recorded attempt (metrics, tests). */
  onAttempt?: (result: AttemptResult) => void;
}): WebhookDispatcher {
  const { deliveries, hooks, logger, config } = deps;
  const random = deps.random ?? Math.random;
  // Long enough for one attempt and its recording; a process killed mid-delivery holds it this long.
  const leaseMs = config.timeoutMs + 5000;
  // Kept-alive connections: a receiver taking a burst answers on a few sockets, not one per event.
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: config.batch }),
    https: new https.Agent({ keepAlive: true, maxSockets: config.batch }),
  };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;

  /** Successes of the batch under way, recorded together when it ends. */
  const succeeded: Array<{ id: string; statusCode: number }> = [];

  async function attempt(d: ClaimedDelivery): Promise<void> {
    const body = JSON.stringify({ id: d.event.id, type: d.event.type, occurredAt: d.event.occurredAt, projectId: d.event.projectId, data: d.event.data });
    let answer: WebhookAnswer | null = null;
    let error: string | null = null;
    try {
      answer = await postWebhook(
        { url: d.url, body, secret: d.secret, eventType: d.event.type, deliveryId: d.id },
        { timeoutMs: config.timeoutMs, allowPrivate: config.allowPrivate, agents },
      );
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const now = Date.now();
    const outcome = { statusCode: answer?.statusCode ?? null, error: error ?? (answer && answer.statusCode >= 300 ? `HTTP ${answer.statusCode}` : null) };
    if (answer && answer.statusCode >= 200 && answer.statusCode < 300) {
      succeeded.push({ id: d.id, statusCode: answer.statusCode });
      if (d.failing) await hooks.noteSuccess(d.webhookId);
      return;
    }
    const windowEnd = Date.parse(d.retryFrom) + config.retryWindowMs;
    const wait = answer?.retryAfterMs ?? retryDelay(d.attempt, config, random);
    const canRetry = answer === null || retryable(answer.statusCode);
    const retry = canRetry && now + wait < windowEnd;
    if (retry) await deliveries.retryAt(d.id, new Date(now + wait), outcome);
    else await deliveries.failed(d.id, outcome);
    const since = await hooks.noteFailure(d.webhookId, new Date(now));
    if (since !== null && now - Date.parse(since) >= config.retryWindowMs) {
      await hooks.disable(d.webhookId, `turned off: every delivery failed since ${since}`);
      logger.warn({ webhookId: d.webhookId, since }, 'webhook turned off after failing for the whole retry window');
    }
    deps.onAttempt?.({
      deliveryId: d.id,
      webhookId: d.webhookId,
      attempt: d.attempt,
      outcome: retry ? 'retry' : 'failed',
      ...outcome,
      nextAttemptAt: retry ? now + wait : null,
    });
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      const claimed = await deliveries.claim({ limit: config.batch, leaseMs });
      await Promise.all(
        claimed.map((d) => attempt(d).catch((err: unknown) => logger.error({ err, deliveryId: d.id }, 'webhook delivery could not be recorded'))),
      );
      const done = succeeded.splice(0);
      // Not recorded (the database is away): their leases end and they are sent again, which
      // at-least-once allows; receivers drop the repeat by its delivery id.
      await deliveries.delivered(done);
      for (const ok of done) {
        const d = claimed.find((c) => c.id === ok.id)!;
        deps.onAttempt?.({ deliveryId: d.id, webhookId: d.webhookId, attempt: d.attempt, outcome: 'delivered', statusCode: ok.statusCode, error: null, nextAttemptAt: null });
      }
      if (claimed.length === config.batch) again = true;
    } while (again && !stopped);
  }

  function schedule(): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    deliveries
      .nextDue()
      .then((due) => {
        if (stopped) return;
        // Alone on its database, every event is appended here and pokes: only a retry's or a lease's
        // due time needs a timer (an idle server on PGlite used to spend ~1 % of a core on this poll).
        const idle = deps.soleProcess ? SOLE_PROCESS_POLL_MS : config.pollMs;
        const wait = due === null ? idle : Math.max(0, Math.min(idle, due.getTime() - Date.now()));
        if (timer) clearTimeout(timer);
        timer = setTimeout(run, wait);
        timer.unref();
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'webhook outbox could not be read');
        timer = setTimeout(run, config.pollMs);
        timer.unref();
      });
  }

  function run(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((err: unknown) => logger.error({ err }, 'webhook outbox could not be claimed'))
      .finally(() => {
        running = null;
        schedule();
      });
  }

  let started = false;
  return {
    start() {
      if (started) return run();
      started = true;
      if (!deps.soleProcess) return run();
      running = deliveries
        .releaseLeases()
        .then(() => undefined)
        .catch((err: unknown) => logger.error({ err }, 'webhook leases could not be released'))
        .finally(() => {
          running = null;
          run();
        });
    },
    poke: run,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
