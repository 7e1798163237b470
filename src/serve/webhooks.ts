// Webhook notifications: each new alert group that a webhook is for (its rules, minimum severity,
// building blocks or not) becomes one JSON POST, queued durably in state.sqlite (an alert written
// before a crash is still notified after it) and retried with exponential backoff until the
// receiver answers 2xx or `max_attempts` is reached (then it stays in the outbox as failed, and
// the log says so).
//
// Body: {"webhook": name, "mode": "realtime"|"scheduled", "rule": {rule_id, id, name, severity,
// risk_score}, "alerts": [alert documents]}.
import type { Logger } from 'pino';
import type { Alert } from '../detect/alerts.js';
import { ruleUuid } from '../detect/alerts.js';
import type { Rule } from '../rules/types.js';
import type { WebhookConfig } from './config.js';
import type { Metrics } from './metrics.js';
import type { StateDb } from './state.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_outbox (
  seq INTEGER PRIMARY KEY,
  webhook TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  created INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(status, next_at);
`;

const RANK: Record<string, number> = { low: 1, medium: 2, high: 3, critical: 4 };
/** Longest wait between two attempts. */
const MAX_BACKOFF_MS = 300_000;

export class Webhooks {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly hooks: WebhookConfig[],
    private readonly state: StateDb,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** First retry delay; doubled for each further attempt. */
    private readonly baseDelayMs = 1000,
  ) {
    state.exec(SCHEMA);
  }

  start(): void {
    if (this.hooks.length === 0) return;
    this.timer = setInterval(() => void this.pump(), Math.min(500, this.baseDelayMs));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
  }

  /** Alert listener: queues one notification per matching webhook. */
  enqueue(alerts: readonly Alert[], rule: Rule, mode: 'realtime' | 'scheduled'): void {
    if (this.hooks.length === 0) return;
    const now = Date.now();
    const insert = this.state.prepare('INSERT INTO webhook_outbox (webhook, body, next_at, created) VALUES (?, ?, ?, ?)');
    for (const h of this.hooks) {
      if (h.rules.length > 0 && !h.rules.includes(rule.rule_id)) continue;
      if ((RANK[rule.severity] ?? 0) < RANK[h.minSeverity]!) continue;
      const sent = h.buildingBlocks ? alerts : alerts.filter((a) => a['kibana.alert.building_block_type'] === undefined);
      if (sent.length === 0) continue;
      const body = {
        webhook: h.name,
        mode,
        rule: { rule_id: rule.rule_id, id: ruleUuid(rule), name: rule.name, severity: rule.severity, risk_score: rule.risk_score },
        alerts: sent,
      };
      insert.run(h.name, JSON.stringify(body), now, now);
    }
    setImmediate(() => void this.pump());
  }

  /** Sends what is due, one request at a time. */
  async pump(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      for (;;) {
        const rows = this.state.prepare("SELECT seq, webhook, body, attempts FROM webhook_outbox WHERE status = 'pending' AND next_at <= ? ORDER BY seq LIMIT 20").all(Date.now()) as {
          seq: number;
          webhook: string;
          body: string;
          attempts: number;
        }[];
        if (rows.length === 0 || this.stopped) return;
        for (const r of rows) await this.deliver(r);
      }
    } finally {
      this.busy = false;
    }
  }

  private async deliver(r: { seq: number; webhook: string; body: string; attempts: number }): Promise<void> {
    const h = this.hooks.find((x) => x.name === r.webhook);
    if (!h) {
      this.state.prepare("UPDATE webhook_outbox SET status = 'failed', last_error = 'webhook no longer configured' WHERE seq = ?").run(r.seq);
      return;
    }
    let error: string | null = null;
    try {
      const res = await fetch(h.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'eqlite-webhook', ...h.headers },
        body: r.body,
        signal: AbortSignal.timeout(h.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (e) {
      error = (e as Error).message;
    }
    const attempts = r.attempts + 1;
    if (error === null) {
      this.state.prepare('DELETE FROM webhook_outbox WHERE seq = ?').run(r.seq);
      this.metrics.webhookDeliveries.inc({ webhook: h.name, outcome: 'delivered' });
      return;
    }
    if (attempts >= h.maxAttempts) {
      this.state.prepare("UPDATE webhook_outbox SET status = 'failed', attempts = ?, last_error = ? WHERE seq = ?").run(attempts, error, r.seq);
      this.metrics.webhookDeliveries.inc({ webhook: h.name, outcome: 'failed' });
      this.log.error({ webhook: h.name, url: h.url, attempts, err: error }, 'webhook: giving up on a notification after the last attempt (kept in webhook_outbox)');
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, this.baseDelayMs * 2 ** (attempts - 1));
    this.state.prepare('UPDATE webhook_outbox SET attempts = ?, next_at = ?, last_error = ? WHERE seq = ?').run(attempts, Date.now() + delay, error, r.seq);
    this.metrics.webhookDeliveries.inc({ webhook: h.name, outcome: 'retry' });
    this.log.warn({ webhook: h.name, attempts, retry_in_ms: delay, err: error }, 'webhook: delivery failed, will retry');
  }
}
