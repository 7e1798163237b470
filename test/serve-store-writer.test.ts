// The event store's writer thread answers every write with its commit, once the commit is on disk
// (the WAL fsynced after it). When it can no longer answer — it died, exited, or a reply could
// not be received — the requests waiting for it fail (503 for the shipper, nothing acknowledged)
// instead of hanging forever (issue 16: no worker event without a handler).
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { batchOf, EventStore, Op, StoreUnavailableError, type SimpleItem } from '../src/serve/store/event-store.js';
import { tempDir } from './detect-helpers.js';

const items = (n: number, from = 0): SimpleItem[] =>
  Array.from({ length: n }, (_, i) => ({ op: Op.Create, index: 'logs-x', id: `id${from + i}`, src: JSON.stringify({ '@timestamp': '2026-01-01T00:00:00Z', n: from + i }), routed: 0 }));

const open: EventStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

const writerOf = (s: EventStore) => (s as unknown as { worker: Worker }).worker;

const rowCount = (s: EventStore) => (s.db().prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;

describe('event store writer thread', () => {
  it('writes are answered in commit order; closing answers every write handed over before it, each stored', async () => {
    const dir = tempDir('eqlite-writer-');
    const store = await EventStore.open({ dir });
    // 40 writes of 50 items at once (several transactions, the WAL synced while the next one is
    // built), then close at once: the last commits are answered by the close's own sync.
    const writes = Array.from({ length: 40 }, (_, w) => store.write(batchOf(items(50, w * 50))));
    const closed = store.close();
    const results = await Promise.all(writes);
    await closed;
    for (const r of results) expect([...r.status]).toEqual(new Array(50).fill(201));
    const seqs = results.flatMap((r) => [...r.seq]);
    expect(seqs).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    const again = await EventStore.open({ dir });
    open.push(again);
    expect(rowCount(again)).toBe(2000);
    // The same items again are conflicts: nothing was stored twice.
    expect([...(await again.write(batchOf(items(3, 1997)))).status]).toEqual([409, 409, 409]);
  }, 30_000);

  it('a writer that exits fails the waiting writes and the later ones; the store says why', async () => {
    const down: string[] = [];
    const store = await EventStore.open({ dir: tempDir('eqlite-writer-'), onUnavailable: (_f, m) => down.push(m) });
    open.push(store);
    expect([...(await store.write(batchOf(items(3)))).status]).toEqual([201, 201, 201]);
    const pending = store.write(batchOf(items(3, 3))).then(
      (r) => ({ ok: [...r.status] }),
      (e: unknown) => ({ error: e }),
    );
    await writerOf(store).terminate();
    // Committed before the exit, or failed by it: answered either way, never left waiting.
    const settled = await pending;
    if ('error' in settled) expect(settled.error).toBeInstanceOf(StoreUnavailableError);
    else expect(settled.ok).toEqual([201, 201, 201]);
    expect(down).toEqual(['event store writer failed: it exited (code 1)']);
    await expect(store.write(batchOf(items(1, 6)))).rejects.toThrow('event store writer failed: it exited (code 1)');
  }, 30_000);

  it('a reply that cannot be received fails the writes waiting for one; the writer goes on', async () => {
    const down: string[] = [];
    const store = await EventStore.open({ dir: tempDir('eqlite-writer-'), onUnavailable: (_f, m) => down.push(m) });
    open.push(store);
    const waiting = store.write(batchOf(items(2))).then(
      () => 'answered',
      (e: Error) => e.message,
    );
    writerOf(store).emit('messageerror', new Error('could not deserialize'));
    // Whether its reply then arrives or not, the write waiting at that moment was answered once.
    expect(await waiting).toBe('event store writer: a reply could not be received (could not deserialize)');
    expect(down).toEqual([]);
    expect([...(await store.write(batchOf(items(2, 2)))).status]).toEqual([201, 201]);
  }, 30_000);
});
