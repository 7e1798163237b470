// /metrics' store figures: eqlite_store_events from the oldest and newest seq, read from the
// b-tree's two ends (not a scan of the table: Prometheus scrapes it on a store of millions).
import { afterEach, describe, expect, it } from 'vitest';
import { SEQ_SPAN_SQL } from '../src/serve/store/event-store.js';
import { ndjson, req, startService, type TestService } from './serve-helpers.js';

describe('/metrics store figures', () => {
  let t: TestService | null = null;
  afterEach(async () => {
    await t?.close();
    t = null;
  });

  it('counts the events stored from the first and last seq, without scanning the table', async () => {
    t = await startService();
    const metric = async () => /^eqlite_store_events (\d+)$/m.exec((await req(`${t!.url}/metrics`, 'GET')).text)?.[1];
    expect(await metric()).toBe('0');
    expect(t.svc.store.seqSpan()).toEqual({ lo: null, hi: null });
    const docs = [];
    for (let i = 0; i < 5; i++) docs.push({ create: { _index: 'logs-x' } }, { '@timestamp': `2026-12-06T10:00:0${i}Z`, n: i });
    const r = await req(`${t.url}/_bulk`, 'POST', ndjson(docs), { 'content-type': 'application/x-ndjson' });
    expect(r.status).toBe(200);
    expect(t.svc.store.seqSpan()).toEqual({ lo: 1, hi: 5 });
    expect(await metric()).toBe('5');
    const plan = (t.svc.store.db().prepare(`EXPLAIN QUERY PLAN ${SEQ_SPAN_SQL}`).all() as { detail: string }[]).map((p) => p.detail);
    expect(plan.filter((d) => d.startsWith('SCAN') && d !== 'SCAN CONSTANT ROW')).toEqual([]);
    expect(plan.filter((d) => d.startsWith('SEARCH events'))).toHaveLength(2);
  });
});
