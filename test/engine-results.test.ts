// size and result_position for event queries, as Elasticsearch's LogicalPlanBuilder plans them.
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/engine/index.js';
import type { EventDoc } from '../src/events/types.js';

const docs: EventDoc[] = [1, 2, 3, 4, 5, 6].map((n) => ({
  id: String(n),
  index: 'i',
  source: { '@timestamp': `2024-01-01T00:00:0${n}Z`, event: { category: 'process' }, n },
}));

const ids = (q: string, o: CompileOptions) => compile(q, o).run(docs).map((r) => (r.kind === 'event' ? Number(r.event.id) : -1));

describe('event queries: size and result_position', () => {
  it('tail (the default) keeps the most recent N, head the first N; output ascending', () => {
    expect(ids('process where true', { size: 2 })).toEqual([5, 6]);
    expect(ids('process where true', { size: 2, resultPosition: 'tail' })).toEqual([5, 6]);
    expect(ids('process where true', { size: 2, resultPosition: 'head' })).toEqual([1, 2]);
    expect(ids('process where true', {})).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ids('process where true', { size: 0 })).toEqual([]);
  });
  it('pipes: the default limit takes the first pipe kind', () => {
    expect(ids('process where true | head 4', { size: 2 })).toEqual([1, 2]);
    expect(ids('process where true | tail 4', { size: 2, resultPosition: 'head' })).toEqual([5, 6]);
    expect(ids('process where true | tail 4 | head 1', { size: 3 })).toEqual([4]);
    expect(ids('process where n > 1 | head 4 | tail 2', { size: 10 })).toEqual([4, 5]);
  });
  it('a streaming head delivers results as found and reports that more existed', () => {
    const got: string[] = [];
    const run = compile('process where true', { size: 2, resultPosition: 'head' }).createRun((r) => got.push(r.kind === 'event' ? r.event.id : ''));
    let pushed = 0;
    for (const d of docs) {
      if (run.done) break;
      run.push(d);
      pushed++;
    }
    expect(got).toEqual(['1', '2']);
    expect(pushed).toBe(3); // one past the limit, to know that results were cut
    expect(run.finish()).toEqual([]);
    expect(run.found).toBe(3);
  });
  it('a tail never streams: its results are final only at the end', () => {
    const got: string[] = [];
    const run = compile('process where true', { size: 2 }).createRun((r) => got.push(r.kind === 'event' ? r.event.id : ''));
    for (const d of docs) run.push(d);
    expect(got).toEqual([]);
    expect(run.finish().map((r) => (r.kind === 'event' ? r.event.id : ''))).toEqual(['5', '6']);
    expect(run.found).toBe(6);
  });
});
