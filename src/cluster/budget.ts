// max_signals for real-time detection across the cluster. A rule's partitions run on several
// workers, each with the engine's own budget (max_signals alert groups per interval); without a
// shared count a rule could write partitions × max_signals groups an interval where a single node
// writes max_signals. Before a worker writes a real-time (or repair) alert group it takes one unit
// of the rule's budget for the current interval — key `b.<rule uuid>.<k>` in KV `<name>_budget`,
// k = floor(now / interval), counted by compare-and-set — and a group over the budget is not
// written: the scheduled run, which reads every partition and keeps the most recent max_signals
// results of its window, finds it (as on a single node, where real time leaves what is beyond its
// budget to the scheduled runs). Keys expire after 25 h (the bucket's TTL).
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { ruleUuid } from '../detect/alerts.js';
import { parseInterval } from '../detect/schedule.js';
import type { Rule } from '../rules/types.js';
import { isTransient, sleep } from './nats.js';

const b64 = (s: string) => Buffer.from(s).toString('base64url');

export class RealtimeBudget {
  /** Groups refused (over budget) and budget checks that could not reach JetStream (written anyway). */
  refused = 0;
  unchecked = 0;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** True when the rule may write one more alert group in real time in the current interval. */
  async take(rule: Rule, now = Date.now()): Promise<boolean> {
    const interval = parseInterval(rule.interval);
    const key = `b.${b64(ruleUuid(rule))}.${Math.floor(now / interval)}`;
    for (let attempt = 0; attempt < 30; attempt++) {
      try {
        const e = await this.kv.get(key);
        if (!e || e.operation !== 'PUT') {
          await this.kv.create(key, '1');
          return true;
        }
        const used = Number(e.string());
        if (used >= rule.max_signals) {
          this.refused++;
          return false;
        }
        await this.kv.update(key, String(used + 1), e.revision);
        return true;
      } catch (e) {
        const conflict = (e as { code?: number }).code === 10071 || /wrong last sequence|key exists/i.test((e as Error).message);
        if (!conflict && !isTransient(e)) break;
        if (!conflict) await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
      }
    }
    // Unreachable budget: an alert is worth more than the cap (the write itself retries).
    this.unchecked++;
    this.log.warn({ rule: rule.rule_id }, 'cluster: the real-time max_signals budget could not be checked; writing the alert group');
    return true;
  }
}
