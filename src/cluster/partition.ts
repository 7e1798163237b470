// Partitioning: which JetStream partitions an event is published to, and which rules a partition
// runs it for, so that every sequence's events meet in one partition.
//
// Each stateful rule (sequence, sample) is partitioned by one of its join keys, its "family":
//  * a query-level key (`sequence by host.id, process.entity_id`): the configured partition key
//    (`host.id`) when it is one of them, else the first field. Events with equal join keys have
//    equal values of every key field, so they land in the same partition;
//  * no query-level key but the same first per-term key in every term
//    (`[process] by process.entity_id [network] by process.entity_id`): that field;
//  * otherwise (per-term keys on different fields, keys that are expressions, no key at all) the
//    rule cannot be split: all its events go to one partition (the "global" family).
// Stateless rules (event queries) run where the event's primary copy is: the partition of its
// partition-key value (host.id), so an event most rules want is published once.
//
// An event is published once per distinct partition among: its primary partition (when a
// stateless rule wants it) and, per family of the stateful rules that want it, the partition of
// each value of the family's field (a multi-valued field reaches several partitions; null goes to
// the partition of ""). A partition runs each rule only on the events whose family value maps to
// it, and keeps only the results whose join key maps to it (engine `accept`), so a rule alerts
// in exactly one partition per join key.
//
// The hash is FNV-1a 32 of the value's text, modulo the partition count: the function of
// nats-server's `{{partition(n, …)}}` subject mapping (2.8+), computed by the publisher because
// an arbitrary host id cannot be a subject token and 2.9 has no stream subject transforms.
import type { QueryResult } from '../engine/index.js';
import { fieldAccessor, type Accessor } from '../engine/fields.js';
import type { Expr } from '../eql/ast.js';
import { parse } from '../eql/index.js';
import type { EventDoc } from '../events/types.js';
import type { PreparedRule } from '../detect/router.js';
import type { PartitionScope } from '../serve/realtime.js';

/** FNV-1a, 32 bits, over the UTF-8 bytes of `s`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The text a key value is hashed as: strings as they are, null/missing as "". */
export function keyText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function partitionOfKey(v: unknown, partitions: number): number {
  return fnv1a32(keyText(v)) % partitions;
}

/** How a rule is partitioned. */
export type RuleFamily =
  /** Stateless: runs on the event's primary copy. */
  | { kind: 'event' }
  /** By a field; `keyIndex` is the field's position in the results' join keys. */
  | { kind: 'key'; field: string; keyIndex: number }
  /** Not splittable: one partition. */
  | { kind: 'global' };

const fieldName = (e: Expr): string | null => (e.kind === 'field' ? e.name : null);

/** The family of a rule's query (see the file comment). */
export function ruleFamily(query: string, partitionKey: string): RuleFamily {
  const q = parse(query).query;
  if (q.kind === 'event') return { kind: 'event' };
  const shared = q.by.map(fieldName);
  if (shared.length > 0) {
    const i = shared.indexOf(partitionKey);
    if (i >= 0) return { kind: 'key', field: partitionKey, keyIndex: i };
    const j = shared.findIndex((f) => f !== null);
    if (j >= 0) return { kind: 'key', field: shared[j]!, keyIndex: j };
    return { kind: 'global' };
  }
  const terms = q.kind === 'sequence' && q.until ? [...q.terms, q.until] : q.terms;
  const firsts = terms.map((t) => (t.by.length > 0 ? fieldName(t.by[0]!) : null));
  if (firsts.length > 0 && firsts[0] !== null && firsts.every((f) => f === firsts[0])) return { kind: 'key', field: firsts[0]!, keyIndex: 0 };
  return { kind: 'global' };
}

interface Family {
  field: string;
  get: Accessor;
}

/** The partitioning of one rule generation. */
export class Partitioner {
  /** Per rule: -1 stateless, -2 global, else the family index. */
  private readonly ruleFamily: Int32Array;
  private readonly keyIndex: Int32Array;
  private readonly families: Family[] = [];
  private readonly primaryKey: Accessor;
  readonly globalPartition: number;
  /** Counts of rules per kind, for logs and the status API. */
  readonly summary: { event: number; global: number; families: Record<string, number> };

  constructor(
    rules: readonly PreparedRule[],
    readonly partitions: number,
    readonly partitionKey: string,
  ) {
    this.ruleFamily = new Int32Array(rules.length);
    this.keyIndex = new Int32Array(rules.length);
    this.primaryKey = fieldAccessor(partitionKey);
    this.globalPartition = partitionOfKey('', partitions);
    this.summary = { event: 0, global: 0, families: {} };
    const byField = new Map<string, number>();
    rules.forEach((p, i) => {
      let f: RuleFamily;
      try {
        f = ruleFamily(p.rule.query ?? '', partitionKey);
      } catch {
        f = { kind: 'global' };
      }
      if (f.kind === 'event') {
        this.ruleFamily[i] = -1;
        this.summary.event++;
      } else if (f.kind === 'global') {
        this.ruleFamily[i] = -2;
        this.summary.global++;
      } else {
        let k = byField.get(f.field);
        if (k === undefined) {
          byField.set(f.field, (k = this.families.length));
          this.families.push({ field: f.field, get: fieldAccessor(f.field) });
        }
        this.ruleFamily[i] = k;
        this.keyIndex[i] = f.keyIndex;
        this.summary.families[f.field] = (this.summary.families[f.field] ?? 0) + 1;
      }
    });
  }

  /** The partition of an event's primary copy: its partition-key value, else its index and id. */
  primary(ev: Pick<EventDoc, 'source' | 'index' | 'id'>): number {
    let v = this.primaryKey(ev.source);
    if (Array.isArray(v)) v = v.find((x) => x !== null && x !== undefined);
    if (v === undefined || v === null) return fnv1a32(`${ev.index}/${ev.id}`) % this.partitions;
    return partitionOfKey(v, this.partitions);
  }

  /** The partitions of the distinct values of a family's field in the event. */
  private familyPartitions(k: number, src: Record<string, unknown>, into: Set<number>): void {
    const v = this.families[k]!.get(src);
    if (Array.isArray(v)) {
      let any = false;
      for (const x of v) {
        if (x === null || x === undefined) continue;
        into.add(partitionOfKey(x, this.partitions));
        any = true;
      }
      if (!any) into.add(partitionOfKey(null, this.partitions));
    } else into.add(partitionOfKey(v, this.partitions));
  }

  /** The partitions an event some rules want must be published to (ascending; empty when none). */
  partitionsOf(ev: Pick<EventDoc, 'source' | 'index' | 'id'>, routes: readonly number[]): number[] {
    if (routes.length === 0) return [];
    const out = new Set<number>();
    const seen = new Set<number>();
    for (const r of routes) {
      const k = this.ruleFamily[r]!;
      if (k === -1) out.add(this.primary(ev));
      else if (k === -2) out.add(this.globalPartition);
      else if (!seen.has(k)) {
        seen.add(k);
        this.familyPartitions(k, ev.source, out);
      }
    }
    return [...out].sort((a, b) => a - b);
  }

  /** What partition p runs and keeps (the detector's scope). */
  scope(p: number): PartitionScope {
    const out: number[] = [];
    return {
      rulesFor: (ev, routes) => {
        out.length = 0;
        let primary = -1;
        let familyHit: Map<number, boolean> | null = null;
        for (const r of routes) {
          const k = this.ruleFamily[r]!;
          let mine: boolean;
          if (k === -1) {
            if (primary === -1) primary = this.primary(ev);
            mine = primary === p;
          } else if (k === -2) mine = this.globalPartition === p;
          else {
            familyHit ??= new Map();
            let hit = familyHit.get(k);
            if (hit === undefined) {
              const parts = new Set<number>();
              this.familyPartitions(k, ev.source, parts);
              familyHit.set(k, (hit = parts.has(p)));
            }
            mine = hit;
          }
          if (mine) out.push(r);
        }
        return out;
      },
      owns: (rule, result) => {
        const k = this.ruleFamily[rule]!;
        if (k === -1) return result.kind !== 'event' || this.primary(result.event) === p;
        if (k === -2) return this.globalPartition === p;
        if (result.kind === 'event') return true;
        return partitionOfKey(result.joinKeys[this.keyIndex[rule]!], this.partitions) === p;
      },
    };
  }
}
