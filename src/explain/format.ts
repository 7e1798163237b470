// `eqlite explain` as text for people (the JSON form is the Explanation object itself).
import path from 'node:path';
import { fmtMs, shorten, valueText, type DeadEnd, type EventRef, type Explanation, type FieldValue, type StageReport } from './explain.js';

const rel = (p: string) => {
  const r = path.relative(process.cwd(), p);
  return r !== '' && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
};

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

function where(e: EventRef): string {
  const w = e.where;
  const m = /^(.*?)((?::\d+| record \d+))$/.exec(w);
  return m ? `${rel(m[1]!)}${m[2]}` : w || e.id;
}

function eventLine(e: EventRef): string {
  return `${where(e)}  ${e.time}`;
}

function showValue(v: unknown): string {
  return cut(typeof v === 'string' ? `"${v}"` : (JSON.stringify(v) ?? String(v)), 120);
}

export function formatValues(values: FieldValue[]): string {
  return values.map(valueText).join(', ');
}

function keyText(names: string[], values: unknown[]): string {
  if (names.length === 0) return '(no join key)';
  return names.map((n, i) => `${n} = ${showValue(values[i])}`).join(', ');
}

function stageBlock(s: StageReport, examples: number): string[] {
  const L: string[] = [];
  L.push(`${s.label}  ${cut(s.text, 160)}`);
  const cat = s.category === null ? 'any category' : `category ${s.category}`;
  L.push(`  matched ${s.passed} of ${s.searched} searched events (${s.inCategory} of ${cat})`);
  if (s.conditions.length > 0 && s.inCategory > 0) {
    L.push(`  conditions, over the ${s.inCategory === 1 ? '1 event' : `${s.inCategory} events`} of ${cat}:`);
    L.push('    passed  failed   alone  condition');
    for (const c of s.conditions) L.push(`    ${String(c.passed).padStart(6)}  ${String(c.failed).padStart(6)}  ${String(c.failedAlone).padStart(6)}  ${shorten(c.condition, 110)}`);
  }
  if (s.nearMisses.length > 0) {
    L.push('  near misses (failed exactly one condition):');
    for (const m of s.nearMisses.slice(0, examples)) {
      const f = m.failed[0]!;
      L.push(`    ${eventLine(m.event)}  failed ${shorten(f.condition, 90)}`);
      L.push(`      ${formatValues(f.values)}`);
    }
  }
  if (s.noJoinKey > 0) {
    L.push(`  ${s.noJoinKey} matching event(s) lack the join key (${s.joinKeys.join(', ')}), so no sequence can use them, e.g. ${where(s.noJoinKeyExamples[0]!)}`);
  }
  const o = s.outOfScope;
  if (o.index + o.noIndex + o.filter + o.exception > 0) {
    const parts = [
      o.index ? `${o.index} in indices the rule does not search` : '',
      o.noIndex ? `${o.noIndex} without an index` : '',
      o.filter ? `${o.filter} rejected by the rule's filters` : '',
      o.exception ? `${o.exception} withheld by the rule's exceptions` : '',
    ].filter(Boolean);
    L.push(`  would match but were never searched: ${parts.join(', ')}`);
    for (const x of o.examples.slice(0, examples)) {
      const why =
        x.reason === 'index'
          ? `index ${x.event.index} is not covered`
          : x.reason === 'no-index'
            ? 'no index (give --index)'
            : x.reason === 'filter'
              ? "rejected by the rule's filters"
              : `excepted by ${x.exceptions?.map((e) => `"${e.name}" (${e.list_id}/${e.item_id})`).join(', ') || 'an exception item'}`;
      L.push(`    ${eventLine(x.event)}  ${why}`);
    }
  }
  return L;
}

const REASONS: Record<DeadEnd['reason'], (d: DeadEnd, maxspan: number | null) => string> = {
  maxspan: (d, m) => `${d.waitingFor} never matched within maxspan (${fmtMs(m ?? 0)})`,
  end: (d) => `${d.waitingFor} had not matched when the data ended`,
  until: (d) => d.detail ?? 'ended by an until event',
  replaced: (d) => d.detail ?? 'replaced by a newer partial sequence with the same key',
  missing: (d) => d.detail ?? 'rejected by a missing-event term',
};

function deadEndBlock(d: DeadEnd, i: number, x: Explanation): string[] {
  const keys = x.rule.join_keys;
  const L: string[] = [];
  L.push(`  ${i + 1}. ${keyText(keys, d.keyValues)}: matched ${d.matched} of ${x.sequences!.reached.length} stages`);
  d.events.forEach((e, k) => L.push(`       stage ${k + 1}: ${eventLine(e)}`));
  L.push(`     stopped: ${REASONS[d.reason](d, x.rule.maxspan_ms)}`);
  const e = d.evidence;
  if (e.late) L.push(`     a ${d.waitingFor} event with the same key came ${fmtMs(e.late.overMs)} after maxspan ended: ${eventLine(e.late.event)}`);
  if (e.otherKey) L.push(`     a ${d.waitingFor} event came ${fmtMs(e.otherKey.afterMs)} later with another join key: ${keyText(keys, e.otherKey.keyValues)} (${eventLine(e.otherKey.event)})`);
  if (e.before) L.push(`     a ${d.waitingFor} event with the same key came ${fmtMs(e.before.beforeMs)} before the sequence started (stages match in order): ${eventLine(e.before.event)}`);
  if (e.closest.length > 0) {
    L.push(`     closest ${d.waitingFor} events with the same key:`);
    for (const c of e.closest) {
      L.push(`       ${eventLine(c.event)} (+${fmtMs(c.afterMs)}) failed ${c.failed.length === 1 ? '' : `${c.failed.length} conditions: `}${c.failed.map((f) => shorten(f.condition, 100)).join('; ')}`);
      for (const f of c.failed) L.push(`         ${formatValues(f.values)}`);
    }
  }
  return L;
}

export function formatExplanation(x: Explanation, examples = 5): string {
  const L: string[] = [];
  const r = x.rule;
  L.push(`rule     ${r.name} (${r.rule_id})`);
  const nStages = x.stages.filter((s) => s.role === 'positive').length;
  const shape = r.query_type === 'sequence' ? `sequence of ${nStages} stages${r.join_keys.length ? ` by ${r.join_keys.join(', ')}` : ''}${r.maxspan_ms !== null ? ` with maxspan ${fmtMs(r.maxspan_ms)}` : ''}` : r.query_type === 'sample' ? `sample of ${x.stages.length} terms` : 'event query';
  L.push(`query    ${shape}`);
  const i = x.input;
  const notSearched = [i.notInIndex ? `${i.notInIndex} in other indices` : '', i.noIndex ? `${i.noIndex} without an index` : '', i.filtered ? `${i.filtered} rejected by the rule's filters` : '', i.excepted ? `${i.excepted} excepted` : '', i.skipped ? `${i.skipped} unreadable, skipped` : ''].filter(Boolean);
  L.push(`input    ${i.events} events; ${i.searched} searched by the rule${notSearched.length ? `; ${notSearched.join(', ')}` : ''}`);
  if (i.otherIndices.length > 0) L.push(`         not searched: ${i.otherIndices.slice(0, 5).map((o) => `${o.index} (${o.events})`).join(', ')}; the rule searches ${(r.index ?? ['Kibana default patterns']).join(', ')}`);
  L.push(`verdict  ${x.verdict}`);
  for (const ev of x.resultEvents) L.push(`         match: ${ev.map(where).join(' → ')}`);
  for (const s of x.stages) L.push('', ...stageBlock(s, examples));
  if (x.sequences) {
    const q = x.sequences;
    L.push('');
    L.push(`partial sequences: ${q.reached.map((n, k) => `${n} reached stage ${k + 1}`).join(', ')}; ${q.completed} completed`);
    const ended = Object.entries(q.deadEnds).filter(([, n]) => n > 0);
    if (ended.length > 0) L.push(`  stopped: ${ended.map(([k, n]) => `${n} ${k}`).join(', ')}`);
    if (q.furthest.length > 0) {
      L.push(`  the furthest (${Math.min(examples, q.furthest.length)} shown):`);
      q.furthest.slice(0, examples).forEach((d, k) => L.push(...deadEndBlock(d, k, x)));
    }
  }
  if (x.inconsistent > 0) L.push('', `internal: ${x.inconsistent} event(s) where a stage verdict and its conditions disagreed; please report`);
  return L.join('\n') + '\n';
}
