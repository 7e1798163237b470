// Rule run state in state.sqlite (SqliteScheduleStore): the runs of one tick are written together
// when the tick yields, every read sees them, and a write that fails is reported and leaves the
// rules' last runs where they were (so the runs are made again).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, test } from 'vitest';
import { SqliteScheduleStore, type RunRow } from '../src/serve/detection.js';
import { openStateDb } from '../src/serve/state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(uuid: string, runTime: number, kind: RunRow['kind'] = 'scheduled'): RunRow {
  return { uuid, rule_id: `rule-${uuid}`, run_time: runTime, window_start: runTime - 540_000, window_end: runTime, kind, status: 'succeeded', error: null, duration_ms: 1.5, events: 10, alerts: 1, executed_at: runTime + 5 };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('rule run state in state.sqlite', () => {
  test('runs recorded in one tick are written together when it yields; reads see them at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-sched-'));
    dirs.push(dir);
    const state = openStateDb(dir);
    const store = new SqliteScheduleStore(state);
    // Another connection sees only what was committed.
    const other = new Database(path.join(dir, 'state.sqlite'), { readonly: true });
    const committed = () => (other.prepare('SELECT COUNT(*) AS n FROM rule_runs').get() as { n: number }).n;
    for (let i = 0; i < 3; i++) expect(store.recordRun(run(`u${i}`, 300_000), true)).toBe(true);
    store.recordRun(run('u0', 0, 'manual'), false);
    expect(committed()).toBe(0);
    await tick();
    expect(committed()).toBe(4);
    // A read writes what is pending first.
    store.recordRun(run('u1', 600_000), true);
    expect(store.lastRun('u1')).toBe(600_000);
    expect(committed()).toBe(5);
    expect(store.lastRun('u0')).toBe(300_000);
    expect(store.lastRun('nope')).toBe(null);
    // Last runs already read follow the writes (the later of the stored and the new).
    store.recordRun(run('u1', 900_000), true);
    await tick();
    store.recordRun(run('u1', 0, 'catch-up'), true);
    store.recordRun(run('nope', 300_000), true);
    expect(store.lastRun('u1')).toBe(900_000);
    expect(store.lastRun('nope')).toBe(300_000);
    expect((other.prepare("SELECT last_run FROM rule_schedule WHERE uuid = 'u1'").get() as { last_run: number }).last_run).toBe(900_000);
    expect(committed()).toBe(8);
    expect(store.runs('u0').map((r) => [r.run_time, r.kind])).toEqual([
      [0, 'manual'],
      [300_000, 'scheduled'],
    ]);
    other.close();
    state.close();
  });

  test('a write that fails is reported with the number of runs; their rules keep their last runs', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-sched-'));
    dirs.push(dir);
    const state = openStateDb(dir);
    const errors: [string, number][] = [];
    const store = new SqliteScheduleStore(state, (message, runs) => errors.push([message, runs]));
    store.recordRun(run('u0', 300_000), true);
    store.flush();
    // The table is locked by another connection's write transaction: the next commit fails.
    const other = new Database(path.join(dir, 'state.sqlite'));
    other.pragma('busy_timeout = 0');
    state.pragma('busy_timeout = 0');
    other.prepare('BEGIN IMMEDIATE').run();
    store.recordRun(run('u0', 600_000), true);
    store.recordRun(run('u1', 600_000), true);
    store.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]![0]).toMatch(/locked|busy/i);
    expect(errors[0]![1]).toBe(2);
    other.prepare('ROLLBACK').run();
    other.close();
    expect(store.lastRun('u0')).toBe(300_000);
    expect(store.lastRun('u1')).toBe(null);
    state.close();
  });
});

describe('the single-node log checkpoint in state.sqlite', () => {
  test('keeps the state store time, and a data directory from before it gains the column', async () => {
    const { SqliteEventLog } = await import('../src/serve/store/sqlite-log.js');
    const { EventStore } = await import('../src/serve/store/event-store.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-ckpt-'));
    dirs.push(dir);
    // The table as earlier versions created it, with a checkpoint in it.
    const old = new Database(path.join(dir, 'state.sqlite'));
    old.exec('CREATE TABLE log_checkpoints (partition INTEGER PRIMARY KEY, position INTEGER NOT NULL, stored_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)');
    old.prepare('INSERT INTO log_checkpoints VALUES (0, 12, 5000, 6000)').run();
    old.close();
    const state = openStateDb(dir);
    const store = await EventStore.open({ dir, onUnavailable: () => undefined });
    try {
      const log = new SqliteEventLog(store, state);
      expect(log.loadCheckpoint(0)).toEqual({ position: 12, storedAt: 5000 });
      log.saveCheckpoint(0, { position: 20, storedAt: 7000, stateFrom: 1500 });
      expect(log.loadCheckpoint(0)).toEqual({ position: 20, storedAt: 7000, stateFrom: 1500 });
      log.saveCheckpoint(0, { position: 21, storedAt: 7100 });
      expect(log.loadCheckpoint(0)).toEqual({ position: 21, storedAt: 7100 });
    } finally {
      await store.close();
      state.close();
    }
  });
});
