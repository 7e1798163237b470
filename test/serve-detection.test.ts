// Detection in `eqlite serve`: real-time and scheduled runs over ingested events give the alerts
// `eqlite hunt` gives over the same stored events (same ids), once each.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hunt } from '../src/detect/hunt.js';
import { inferIndex } from '../src/events/sources.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { defaultConfig, loadConfigFile } from '../src/serve/config.js';
import { eventSource } from '../src/serve/store/event-store.js';
import { huntStored, ndjson, req, servedAlertIds, startService, waitFor, type TestService } from './serve-helpers.js';

const SAMPLE = path.resolve('examples/windows-sample.ndjson');

/** The sample as bulk bodies of `per` events, optionally with @timestamp moved by `shiftMs`. */
function sampleBodies(per: number, shiftMs = 0): string[] {
  const docs = readFileSync(SAMPLE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const bodies: string[] = [];
  for (let i = 0; i < docs.length; i += per) {
    const lines: unknown[] = [];
    for (const d of docs.slice(i, i + per)) {
      if (shiftMs) d['@timestamp'] = new Date(Date.parse(String(d['@timestamp'])) + shiftMs).toISOString();
      lines.push({ create: { _index: inferIndex(d) } }, d);
    }
    bodies.push(ndjson(lines));
  }
  return bodies;
}

describe('real-time detection', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService();
  });
  afterAll(async () => {
    await t.close();
  });

  test('the planted attacks alert as they arrive, with the ids an offline hunt of the stored events gives', async () => {
    for (const body of sampleBodies(200)) {
      const r = await req(`${t.url}/_bulk?filter_path=errors`, 'POST', body, { 'content-type': 'application/json' });
      expect(r.json).toEqual({ errors: false });
    }
    const ids = await waitFor(() => servedAlertIds(t), (v) => v.length >= 27);
    expect(ids).toHaveLength(27);
    expect(ids).toEqual(await huntStored(t));
    const modes = t.svc.alerts.db.prepare("SELECT COUNT(*) AS n FROM alerts WHERE building_block = 0").get() as { n: number };
    expect(modes.n).toBe(9);
    // Sending everything again stores nothing new and alerts nothing new.
    for (const body of sampleBodies(600)) await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/json' });
    await new Promise((r) => setTimeout(r, 600));
    expect(servedAlertIds(t)).toEqual(ids);
  });
});

describe('scheduled detection', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService((c) => {
      c.detection.realtime = false;
      c.detection.latenessMs = 0;
    });
  });
  afterAll(async () => {
    await t.close();
  });

  test('runs on the interval grid over [run + from, run + to] by @timestamp find the same alerts, and record their runs', async () => {
    // Move the sample (60 s long) to end two minutes ago.
    const first = Date.parse('2025-03-10T08:00:00Z');
    const shift = Math.floor((Date.now() - 180_000) / 1000) * 1000 - first;
    for (const body of sampleBodies(300, shift)) await req(`${t.url}/_bulk`, 'POST', body, { 'content-type': 'application/json' });
    expect(servedAlertIds(t)).toHaveLength(0);
    // The next run (at most one interval away) covers them: run the scheduler at that time.
    const interval = 300_000;
    const next = Math.ceil(Date.now() / interval) * interval;
    await t.svc.detection.tick(next + 1);
    const ids = servedAlertIds(t);
    expect(ids).toHaveLength(27);
    expect(ids).toEqual(await huntStored(t));
    const rules = await req(`${t.url}/api/rules`, 'GET');
    expect(rules.status).toBe(200);
    const seed = rules.json.rules[0];
    expect(seed.last_run.status).toBe('succeeded');
    expect(seed.last_run.alerts).toBe(27);
    // Downtime: three intervals later, the two missed runs are caught up and reported.
    await t.svc.detection.tick(next + 3 * interval + 1);
    const detail = await req(`${t.url}/api/rules/${seed.rule_id}`, 'GET');
    expect(detail.json.runs.slice(0, 3).map((r: { kind: string }) => r.kind)).toEqual(['scheduled', 'catch-up', 'catch-up']);
    expect(detail.json.gaps[0].status).toBe('filled');
    expect(servedAlertIds(t)).toHaveLength(27);
  });
});

describe('the real-time reorder hold is a setting', () => {
  test('[detection] reorder is read from the config file, with a bound', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-config-'));
    try {
      const file = path.join(dir, 'eqlite.toml');
      expect(defaultConfig().detection.reorderMs).toBe(250);
      writeFileSync(file, '[detection]\nreorder = "2s"\n');
      expect(loadConfigFile(file).detection.reorderMs).toBe(2000);
      writeFileSync(file, '[detection]\nreorder = "0"\n');
      expect(loadConfigFile(file).detection.reorderMs).toBe(0);
      writeFileSync(file, '[detection]\nreorder = "2m"\n');
      expect(() => loadConfigFile(file)).toThrow(`${file}: detection.reorder: at most 60s (events are held in memory that long; later ones are repaired)`);
      writeFileSync(file, '[detection]\nreorder = "soon"\n');
      expect(() => loadConfigFile(file)).toThrow(/detection\.reorder: invalid duration "soon"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with no hold, the planted attacks alert as with the default one', async () => {
    const t = await startService((c) => (c.detection.reorderMs = 0));
    try {
      // One request: its events are in time order, so none is late for a zero hold.
      const r = await req(`${t.url}/_bulk?filter_path=errors`, 'POST', sampleBodies(10_000)[0], { 'content-type': 'application/json' });
      expect(r.json).toEqual({ errors: false });
      const ids = await waitFor(() => servedAlertIds(t), (v) => v.length >= 27);
      expect(ids).toEqual(await huntStored(t));
    } finally {
      await t.close();
    }
  });
});

describe('alert latency', () => {
  test('alerts a repair run writes for late events are observed by the real-time latency histogram, like those of the stream', async () => {
    // No hold, and the sample's requests sent newest first: the sequences' first events come after
    // their last ones, so their alerts come from repair runs (written as scheduled runs' are).
    // Each request is read by real time before the next is sent, so the next one's events are late
    // however slow the machine is (read together, they would be put in order and none be late).
    // No scheduled run may write the alerts first: the scheduler ticks once an hour.
    const t = await startService((c) => {
      c.detection.reorderMs = 0;
      c.detection.tickMs = 3_600_000;
    });
    try {
      await t.svc.detection.settle();
      for (const body of sampleBodies(200).reverse()) {
        const r = await req(`${t.url}/_bulk?filter_path=errors`, 'POST', body, { 'content-type': 'application/json' });
        expect(r.json).toEqual({ errors: false });
        const stored = (t.svc.store.db().prepare('SELECT MAX(seq) AS s FROM events').get() as { s: number }).s;
        const status = await waitFor(() => t.svc.detection.realtimeStatus(), (s) => s !== null && s.position >= stored);
        expect(status?.position).toBeGreaterThanOrEqual(stored);
        await t.svc.detection.settle();
      }
      const ids = await waitFor(() => servedAlertIds(t), (v) => v.length >= 27);
      expect(ids).toEqual(await huntStored(t));
      const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec((await req(`${t.url}/metrics`, 'GET')).text)?.[1]);
      expect(await metric('eqlite_detection_repair_runs_total')).toBeGreaterThan(0);
      // One observation per alert group: 9 groups (a sequence's shell with its building blocks is one).
      expect(await metric('eqlite_realtime_alert_latency_seconds_count')).toBe(9);
    } finally {
      await t.close();
    }
  });
});

describe('rule generations across restarts', () => {
  test('the generation keeps growing after a restart, so events stored under an old one are not hidden from new rules', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-serve-gen-'));
    const start = () =>
      startService(
        (c) => {
          c.detection.realtime = false;
          c.detection.latenessMs = 0;
        },
        { dir },
      );
    const generation = async (t: TestService) => Number(/^eqlite_rules_generation (\d+)$/m.exec((await req(`${t.url}/metrics`, 'GET')).text)![1]);
    const first = Date.parse('2025-03-10T08:00:00Z');
    const shift = Math.floor((Date.now() - 180_000) / 1000) * 1000 - first;
    try {
      let t = await start();
      const seed = (await req(`${t.url}/api/rules`, 'GET')).json.rules[0].rule_id as string;
      expect(await generation(t)).toBe(1);
      // Generation 2 has no enabled rule: the events are stored as usable by no rule of it.
      expect((await req(`${t.url}/api/rules/${seed}/_disable`, 'POST')).status).toBe(200);
      expect(await generation(t)).toBe(2);
      for (const body of sampleBodies(300, shift)) expect((await req(`${t.url}/_bulk?filter_path=errors`, 'POST', body, { 'content-type': 'application/json' })).json).toEqual({ errors: false });
      const routed = t.svc.store.db().prepare('SELECT DISTINCT routed FROM events').all() as { routed: number }[];
      expect(routed).toEqual([{ routed: -2 }]);
      await t.close();

      // After the restart the numbering goes on (3), and enabling the rule makes 4: the events
      // of generation 2 are read again for it (a restart from 1 would have made this 2 again).
      t = await start();
      expect(await generation(t)).toBe(3);
      expect((await req(`${t.url}/api/rules/${seed}/_enable`, 'POST')).status).toBe(200);
      expect(await generation(t)).toBe(4);
      const interval = 300_000;
      await t.svc.detection.tick(Math.ceil(Date.now() / interval) * interval + 1);
      const ids = servedAlertIds(t);
      expect(ids).toHaveLength(27);
      expect(ids).toEqual(await huntStored(t));
      await t.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
