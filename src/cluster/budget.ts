// max_signals for real-time detection across the cluster. A rule's partitions run on several
// workers, each with the engine's own budget (max_signals alert groups per interval); without a
// shared count a rule could write partitions × max_signals groups an interval where a single node
// writes max_signals. Before a worker writes a real-time (or repair) alert group it takes the
// group's place in the rule's budget for the current interval — key `b.<rule uuid>.<k>` in KV
// `<name>_budget`, k = floor(now / interval), holding the ids of the groups admitted, updated by
// compare-and-set — and a group over the budget is not written: the scheduled run, which reads
// every partition and keeps the most recent max_signals results of its window, finds it (as on a
// single node, where real time leaves what is beyond its budget to the scheduled runs). Keys
// expire after 25 h (the bucket's TTL).
//
// The budget holds ids, not a count, because the same group is offered more than once: a
// partition taken over after a crash replays from its checkpoint, and the groups its old holder
// already wrote come again while this node's alert replica has not caught up with them yet. A
// counter charged them twice, and under load a takeover used up the budget of a rule with many
// groups (the seed rule: 90 groups of a 100 budget) on duplicates, so new groups were refused and
// waited for the next scheduled run. A group already admitted is admitted again for free.
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { ruleUuid } from '../detect/alerts.js';
import { parseInterval } from '../detect/schedule.js';
import type { Rule } from '../rules/types.js';
import { isTransient, sleep } from './nats.js';

const b64 = (s: string) => Buffer.from(s).toString('base64url');

/** Below NATS's default max_payload (1 MiB): about 10,000 admitted group ids of 64 hex digits. */
const MAX_VALUE_BYTES = 700_000;

export class RealtimeBudget {
  /** Groups refused (over budget) and budget checks that could not reach JetStream (written anyway). */
  refused = 0;
  unchecked = 0;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /**
   * True when the rule may write the alert group `groupId` (its shell's id) in real time in the
   * current interval: it was admitted before, or the interval's budget has room for it.
   */
  async take(rule: Rule, groupId: string, now = Date.now()): Promise<boolean> {
    const interval = parseInterval(rule.interval);
    const key = `b.${b64(ruleUuid(rule))}.${Math.floor(now / interval)}`;
    for (let attempt = 0; attempt < 30; attempt++) {
      try {
        const e = await this.kv.get(key);
        if (!e || e.operation !== 'PUT') {
          await this.kv.create(key, groupId);
          return true;
        }
        const admitted = e.string().split('\n');
        if (admitted.includes(groupId)) return true;
        if (admitted.length >= rule.max_signals) {
          this.refused++;
          return false;
        }
        // Past what one message may hold (a max_signals of tens of thousands) the budget cannot
        // be kept: write rather than lose the alert (the scheduled runs keep max_signals).
        if (e.value.length + groupId.length + 1 > MAX_VALUE_BYTES) break;
        await this.kv.update(key, `${e.string()}\n${groupId}`, e.revision);
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
