import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplySummary } from '../chat/reply-run.js';
import type { UpstreamError } from '../upstream/upstream.js';

/** How a chat request ended: a stream's finish reason, or the code it was refused with. */
export type ChatOutcome = ReplySummary['finishReason'] | string;

/**
 * The server's Prometheus metrics (issue 5), on a registry of their own rather than prom-client's
 * global one, so every `createApp` (tests make dozens) starts from zero and nothing collides.
 * Names follow Prometheus conventions: `_total` counters, `_seconds` histograms.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly activeStreams = new Gauge({
    name: 'chatdrop_active_streams',
    help: 'Replies streaming right now on this instance',
    registers: [this.registry],
  });

  readonly chatRequests = new Counter({
    name: 'chatdrop_chat_requests_total',
    help: 'POST /api/chat by outcome: a finish reason (stop, length, content-filter, aborted, error) or the error code it was refused with',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly timeToFirstToken = new Histogram({
    name: 'chatdrop_time_to_first_token_seconds',
    help: 'From the start of a reply to its first text',
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
    registers: [this.registry],
  });

  readonly replyDuration = new Histogram({
    name: 'chatdrop_reply_duration_seconds',
    help: 'From the start of a reply to its end',
    buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160],
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: 'chatdrop_tokens_total',
    help: 'Tokens by direction (in: prompt, out: completion), from the usage chunk or estimated',
    labelNames: ['direction', 'model'] as const,
    registers: [this.registry],
  });

  readonly upstreamErrors = new Counter({
    name: 'chatdrop_upstream_errors_total',
    help: 'Upstream failures by kind (the contract code) and HTTP status (none for drops and timeouts)',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });

  readonly budgetUsed = new Gauge({
    name: 'chatdrop_budget_used_tokens',
    help: 'Tokens spent today (UTC) against CHATDROP_DAILY_TOKEN_BUDGET by the replies that have ended, by the whole site, read at each scrape',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    // CPU, memory and event-loop lag of the process; off in tests, where they only cost time.
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry, prefix: 'chatdrop_' });
  }

  /** One reply has ended. */
  replyEnded(summary: ReplySummary): void {
    this.chatRequests.inc({ outcome: summary.finishReason });
    if (summary.firstTokenMs !== undefined) this.timeToFirstToken.observe(summary.firstTokenMs / 1000);
    this.replyDuration.observe(summary.durationMs / 1000);
    // A failed model before its fallback may have been billed too (`failedAttemptsUsage`).
    this.tokens.inc({ direction: 'in', model: summary.modelAlias }, summary.usage.inputTokens + summary.failedAttemptsUsage.inputTokens);
    this.tokens.inc({ direction: 'out', model: summary.modelAlias }, summary.usage.outputTokens + summary.failedAttemptsUsage.outputTokens);
  }

  upstreamFailed(error: UpstreamError): void {
    this.upstreamErrors.inc({ kind: error.code, status: error.status === undefined ? 'none' : String(error.status) });
  }
}
