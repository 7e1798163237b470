import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../src/engine/index.js';
import type { EventDoc } from '../src/events/types.js';
import { parseInstant } from '../src/events/time.js';
import { Generation, generateEvents, routeIndex, splitWindowsCommandLine, writeGenerated, type PlantedScenario } from '../src/generate/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TMP = mkdtempSync(join(tmpdir(), 'eqlite-generate-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

type Doc = Record<string, any>;

/** Epoch microseconds of @timestamp (all generated times have at most microsecond precision). */
function micros(doc: Doc): number {
  const t = parseInstant(doc['@timestamp'])!;
  return t.ms * 1000 + Math.floor(t.ns / 1000);
}

function label(doc: Doc): string | undefined {
  return doc.labels?.eqlite_scenario;
}

// One moderately sized run shared by the read-only tests below (generation is deterministic).
const N = 6000;
const gen = new Generation({ events: N, hosts: 20, seed: 1 });
const docs: Doc[] = [...gen.lines()].map((l) => JSON.parse(l) as Doc);
const scenarios = gen.planted.scenarios;
const byScenario = new Map<string, Doc[]>();
for (const d of docs) {
  const s = label(d);
  if (s) byScenario.set(s, [...(byScenario.get(s) ?? []), d]);
}
const step = (id: string, role: 'step1' | 'step2'): Doc => byScenario.get(id)!.find((d) => d.labels.eqlite_role === role)!;
const scenario = (kind: string, shape: string): PlantedScenario => scenarios.find((s) => s.kind === kind && s.shape === shape)!;

describe('windows command-line splitting', () => {
  it('follows CommandLineToArgvW quoting and backslash rules', () => {
    expect(splitWindowsCommandLine('"C:\\Program Files\\App\\app.exe" /n "a b" c')).toEqual(['C:\\Program Files\\App\\app.exe', '/n', 'a b', 'c']);
    expect(splitWindowsCommandLine('cmd.exe /c "x y"')).toEqual(['cmd.exe', '/c', 'x y']);
    expect(splitWindowsCommandLine('a.exe "C:\\dir\\\\" next')).toEqual(['a.exe', 'C:\\dir\\', 'next']);
    expect(splitWindowsCommandLine('a.exe \\"quoted\\" x\\\\y')).toEqual(['a.exe', '"quoted"', 'x\\\\y']);
    expect(splitWindowsCommandLine('a.exe "say ""hi"""')).toEqual(['a.exe', 'say "hi"']);
    expect(splitWindowsCommandLine('"C:\\Windows\\system32\\cmd.exe" ')).toEqual(['C:\\Windows\\system32\\cmd.exe']);
    expect(splitWindowsCommandLine('  ')).toEqual([]);
  });
});

describe('generate: determinism and output files', () => {
  it('writes identical bytes for the same seed and different bytes for another seed', async () => {
    const a = join(TMP, 'a.ndjson');
    const b = join(TMP, 'b.ndjson');
    const c = join(TMP, 'c.ndjson');
    const ra = await writeGenerated({ out: a, events: 3000, hosts: 7, seed: 42 });
    await writeGenerated({ out: b, events: 3000, hosts: 7, seed: 42 });
    await writeGenerated({ out: c, events: 3000, hosts: 7, seed: 43 });
    const ba = readFileSync(a);
    expect(ba.equals(readFileSync(b))).toBe(true);
    expect(ba.equals(readFileSync(c))).toBe(false);
    expect(ra.events).toBe(3000);
    expect(ra.bytes).toBe(ba.length);
    expect(ra.ndjsonBytes).toBe(ba.length);
    expect(ba.toString('utf8').split('\n')).toHaveLength(3001); // 3000 lines plus the final newline
  });

  it('writes FILE.partial and renames it when complete; a failed run does not create the file', async () => {
    const dir = join(TMP, 'partial');
    mkdirSync(dir);
    const out = join(dir, 'data.ndjson');
    writeFileSync(out, 'previous\n');
    await writeGenerated({ out, events: 600, hosts: 3, seed: 5 });
    expect(readdirSync(dir)).toEqual(['data.ndjson']);
    expect(readFileSync(out, 'utf8').split('\n')).toHaveLength(601);
    // The output path is a directory: the write fails, nothing is left behind, the old file stays.
    const blocked = join(dir, 'blocked.ndjson');
    mkdirSync(`${blocked}.partial`);
    await expect(writeGenerated({ out: blocked, events: 600, hosts: 3, seed: 5 })).rejects.toThrow(/EISDIR/);
    expect(existsSync(blocked)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['blocked.ndjson.partial', 'data.ndjson']);
  });

  it('gzips when the name ends in .gz, with the same content as the plain file', async () => {
    const plain = join(TMP, 'p.ndjson');
    const gz = join(TMP, 'p.ndjson.gz');
    await writeGenerated({ out: plain, events: 1500, hosts: 5, seed: 3 });
    const r = await writeGenerated({ out: gz, events: 1500, hosts: 5, seed: 3 });
    const packed = readFileSync(gz);
    expect(r.bytes).toBe(packed.length);
    expect(gunzipSync(packed).equals(readFileSync(plain))).toBe(true);
    expect(r.ndjsonBytes).toBe(readFileSync(plain).length);
  });

  it('generateEvents yields the same documents writeGenerated writes', async () => {
    const out = join(TMP, 'same.ndjson');
    await writeGenerated({ out, events: 800, hosts: 4, seed: 'abc' });
    const fromFile = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect([...generateEvents({ events: 800, hosts: 4, seed: 'abc' })]).toEqual(fromFile);
  });

  it('rejects an event budget smaller than the planted scenarios, and can plant nothing', () => {
    expect(() => new Generation({ events: 50, hosts: 20 })).toThrow('50 events cannot hold the 100 planted events');
    const none = [...generateEvents({ events: 50, hosts: 3, positivesPerShape: 0, nearMisses: false })];
    expect(none).toHaveLength(50);
    expect(none.filter((d) => label(d))).toHaveLength(0);
  });

  it('the committed example is exactly what the documented command produces', () => {
    const example = readFileSync(join(ROOT, 'examples', 'windows-sample.ndjson'), 'utf8');
    const again = [...new Generation({ events: 1800, hosts: 20, seed: 1, detail: 'lean' }).lines()].join('\n') + '\n';
    expect(example === again).toBe(true);
    // Small enough to ship; code signatures (which Elastic's rules read) make it about 2.1 MB.
    expect(Buffer.byteLength(example)).toBeLessThan(2.5 * 1024 * 1024);
  });
});

describe('generate: stream properties', () => {
  it('emits exactly the requested number of events, in @timestamp order', () => {
    expect(docs).toHaveLength(N);
    for (let i = 1; i < docs.length; i++) {
      if (micros(docs[i]!) < micros(docs[i - 1]!)) throw new Error(`line ${i + 1} is earlier than line ${i}`);
    }
    // Defend keeps microseconds, Sysmon and the Security log milliseconds.
    for (const d of docs) {
      const re = d.agent.type === 'endpoint' ? /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/ : /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
      expect(d['@timestamp']).toMatch(re);
    }
  });

  it('gives every event a routable index, and the expected set of indices', () => {
    const indices = new Set(docs.map((d) => routeIndex(d)));
    expect([...indices].sort()).toEqual([
      'logs-endpoint.events.file-default',
      'logs-endpoint.events.library-default',
      'logs-endpoint.events.network-default',
      'logs-endpoint.events.process-default',
      'logs-endpoint.events.registry-default',
      'logs-endpoint.events.security-default',
      'logs-system.security-default',
      'logs-windows.sysmon_operational-default',
      'winlogbeat-7.17.25',
      'winlogbeat-8.15.3',
    ]);
    for (const d of docs) {
      if (d.agent.type === 'winlogbeat') expect(d.data_stream).toBeUndefined();
      else expect(d.data_stream.type).toBe('logs');
    }
  });

  it('with shapes defend,agent, every event carries its data stream (Elastic Agent data only)', () => {
    const gen = new Generation({ events: 3000, hosts: 12, seed: 5, shapes: ['agent', 'defend', 'agent'] });
    const agentDocs = [...gen.lines()].map((l) => JSON.parse(l) as Record<string, any>);
    expect(agentDocs).toHaveLength(3000);
    for (const d of agentDocs) {
      expect(d.data_stream.type).toBe('logs');
      expect(routeIndex(d)).toBe(`logs-${d.data_stream.dataset}-default`);
    }
    expect(new Set(agentDocs.map((d) => d.agent.type))).toEqual(new Set(['endpoint', 'filebeat']));
    expect(gen.planted.positives).toEqual({ defend: 3, winlogbeat: 0, agent: 3 });
    expect(() => new Generation({ shapes: [] })).toThrow(/shapes must be/);
  });

  it('keeps host identity stable: one host.id and one shape per host.name, all Windows', () => {
    const ids = new Map<string, Set<string>>();
    const types = new Map<string, Set<string>>();
    for (const d of docs) {
      expect(d.host.os.type).toBe('windows');
      ids.set(d.host.name, (ids.get(d.host.name) ?? new Set()).add(d.host.id));
      types.set(d.host.name, (types.get(d.host.name) ?? new Set()).add(d.agent.type));
    }
    expect(ids.size).toBe(20);
    for (const s of ids.values()) expect(s.size).toBe(1);
    for (const s of types.values()) expect(s.size).toBe(1);
    const perType = [...types.values()].map((s) => [...s][0]);
    expect(perType.filter((t) => t === 'endpoint')).toHaveLength(7);
    expect(perType.filter((t) => t === 'winlogbeat')).toHaveLength(7);
    expect(perType.filter((t) => t === 'filebeat')).toHaveLength(6);
  });

  it('covers process, library, network, DNS, file, registry and authentication events in every shape', () => {
    const kinds = new Set(docs.map((d) => `${d.agent.type}:${d.event.code ?? d.event.action}`));
    for (const k of ['start', 'end', 'load', 'connection_attempted', 'lookup_result', 'creation', 'modification', 'log_on']) expect(kinds).toContain(`endpoint:${k}`);
    for (const t of ['winlogbeat', 'filebeat']) for (const c of ['1', '3', '5', '7', '11', '13', '22', '4624']) expect(kinds).toContain(`${t}:${c}`);
  });

  it('links processes: a start names its parent, later events reuse its entity id and pid', () => {
    const starts = new Map<string, Doc>();
    for (const d of docs) if (d.event.type.includes('start') && d.event.category.includes('process') && d.process?.parent) starts.set(d.process.entity_id, d);
    let linked = 0;
    for (const d of docs) {
      if (d.event.action === 'load' || d.event.code === '7') {
        const s = starts.get(d.process.entity_id);
        if (!s) continue;
        expect(d.process.pid).toBe(s.process.pid);
        expect(d.process.executable).toBe(s.process.executable);
        expect(d.host.id).toBe(s.host.id);
        expect(micros(d)).toBeGreaterThanOrEqual(micros(s));
        linked++;
      }
    }
    expect(linked).toBeGreaterThan(500);
    for (const s of starts.values()) expect(s.process.args).toEqual(splitWindowsCommandLine(s.process.command_line));
  });

  it('has no background event that could satisfy a step of the seed rule', () => {
    for (const d of docs) {
      if (label(d)) continue;
      const loadsWmiutils = (d.dll?.name ?? d.file?.name)?.toLowerCase() === 'wmiutils.dll';
      if (loadsWmiutils) expect(['wscript.exe', 'cscript.exe']).not.toContain(d.process.name.toLowerCase());
      if (d.process?.parent?.name?.toLowerCase() === 'wmiprvse.exe') expect(d.user.domain).toBe('NT AUTHORITY');
    }
  });
});

describe('generate: planted scenarios', () => {
  it('plants 3 positives per shape and every near-miss kind that applies to the shape', () => {
    expect(gen.planted.positives).toEqual({ defend: 3, winlogbeat: 3, agent: 3 });
    expect(gen.planted.nearMisses).toEqual({ defend: 4, winlogbeat: 6, agent: 6 });
    expect(scenarios.map((s) => s.id).filter((id) => id.endsWith('-1') && id.includes('-defend'))).toEqual([
      'seed-positive-defend-1',
      'seed-nearmiss-maxspan-defend-1',
      'seed-nearmiss-ntauthority-defend-1',
      'seed-nearmiss-otherhost-defend-1',
      'seed-nearmiss-reversed-defend-1',
    ]);
    expect(byScenario.size).toBe(25);
    for (const s of scenarios) expect(byScenario.get(s.id)!.map((d) => d.labels.eqlite_role).sort()).toEqual(['context', 'context', 'step1', 'step2']);
  });

  it('Defend positives: library load then WmiPrvSE child within 5 s, exact fields', () => {
    for (const s of scenarios.filter((x) => x.kind === 'positive' && x.shape === 'defend')) {
      const a = step(s.id, 'step1');
      const b = step(s.id, 'step2');
      expect(a.data_stream).toEqual({ dataset: 'endpoint.events.library', namespace: 'default', type: 'logs' });
      expect(a.agent.type).toBe('endpoint');
      expect(a.event).toMatchObject({ action: 'load', category: ['library'], type: ['start'], module: 'endpoint', dataset: 'endpoint.events.library' });
      expect(a.dll).toMatchObject({ name: 'wmiutils.dll', path: 'C:\\Windows\\System32\\wbem\\wmiutils.dll' });
      expect(a.dll.pe.original_file_name).toBe('wmiutils.dll');
      expect(['cscript.exe', 'wscript.exe']).toContain(a.process.name);
      expect(a.file).toBeUndefined();
      expect(b.data_stream.dataset).toBe('endpoint.events.process');
      expect(b.event).toMatchObject({ action: 'start', category: ['process'], type: ['start'] });
      expect(b.process.parent.name).toBe('WmiPrvSE.exe');
      expect(b.process.parent.executable).toBe('C:\\Windows\\System32\\wbem\\WmiPrvSE.exe');
      expect(b.user.domain).toBe('CORP');
      expect(b.host.id).toBe(a.host.id);
      const gap = micros(b) - micros(a);
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(5_000_000);
      expect(gap).toBe(s.step2Us - s.step1Us);
    }
  });

  it('Winlogbeat positives: event 7 as category process with the task-name (7.17) or pipeline (8.x) action, file.* only', () => {
    const pos = scenarios.filter((x) => x.kind === 'positive' && x.shape === 'winlogbeat');
    const versions = new Set<string>();
    for (const s of pos) {
      const a = step(s.id, 'step1');
      const b = step(s.id, 'step2');
      versions.add(a.agent.version);
      expect(a.data_stream).toBeUndefined();
      expect(a.agent.type).toBe('winlogbeat');
      expect(a.event.module).toBe('sysmon');
      expect(a.event.category).toEqual(['process']);
      expect(a.event.type).toEqual(['change']);
      expect(a.event.code).toBe('7');
      expect(a.event.action).toBe(a.agent.version.startsWith('7.') ? 'Image loaded (rule: ImageLoad)' : 'Image loaded');
      expect(a.winlog.event_id).toBe(a.agent.version.startsWith('7.') ? 7 : '7');
      expect(a.winlog.channel).toBe('Microsoft-Windows-Sysmon/Operational');
      expect(a.file).toMatchObject({ name: 'wmiutils.dll', path: 'C:\\Windows\\System32\\wbem\\wmiutils.dll', directory: 'C:\\Windows\\System32\\wbem', extension: 'dll' });
      expect(a.dll).toBeUndefined();
      expect(b.event.code).toBe('1');
      expect(b.event.type).toEqual(a.agent.version.startsWith('7.') ? ['start', 'process_start'] : ['start']);
      expect(b.process.parent.name).toBe('WmiPrvSE.exe');
      expect(b.process.parent.entity_id).toMatch(/^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/);
      // user.id is Sysmon's own account (winlog.user), the process user is in domain/name.
      expect(b.user.domain).toBe('CORP');
      expect(b.user.id).toBe('S-1-5-18');
      expect(b.user.name).toMatch(/^[a-z]+\.[a-z]+$/);
      const gap = micros(b) - micros(a);
      expect(gap % 1000).toBe(0);
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(5_000_000);
    }
    expect([...versions].sort()).toEqual(['7.17.25', '8.15.3']);
  });

  it('Agent positives: event 7 with category library and both dll.* and file.*', () => {
    for (const s of scenarios.filter((x) => x.kind === 'positive' && x.shape === 'agent')) {
      const a = step(s.id, 'step1');
      const b = step(s.id, 'step2');
      expect(a.data_stream).toEqual({ dataset: 'windows.sysmon_operational', namespace: 'default', type: 'logs' });
      expect(a.agent.type).toBe('filebeat');
      expect(a.event).toMatchObject({ module: 'windows', dataset: 'windows.sysmon_operational', code: '7', category: ['process', 'library'], type: ['change', 'start'], action: ['Image loaded', 'load'] });
      expect(a.dll).toMatchObject({ name: 'wmiutils.dll', path: 'C:\\Windows\\System32\\wbem\\wmiutils.dll' });
      expect(a.file).toMatchObject({ name: 'wmiutils.dll', path: 'C:\\Windows\\System32\\wbem\\wmiutils.dll' });
      expect(b.data_stream.dataset).toBe('windows.sysmon_operational');
      expect(b.event).toMatchObject({ code: '1', category: ['process'], type: ['start'], action: 'Process creation' });
      expect(b.process.parent.name).toBe('WmiPrvSE.exe');
      expect(b.user.domain).toBe('CORP');
      const gap = micros(b) - micros(a);
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(5_000_000);
    }
  });

  it('positives exercise both branches of step 2 (LOLBin original name, or a C:\\Users / C:\\ProgramData executable)', () => {
    const children = scenarios.filter((s) => s.positive).map((s) => step(s.id, 'step2'));
    expect(children.map((c) => c.process.pe.original_file_name)).toEqual([
      'PowerShell.EXE', 'RUNDLL32.EXE', 'MSHTA.EXE', 'REGSVR32.EXE', 'Cmd.Exe', 'agent.exe', 'stage2.exe', 'msiexec.exe', 'MSBuild.exe',
    ]);
    expect(children[5]!.process.executable).toBe('C:\\ProgramData\\Updates\\svcupdate.exe');
    expect(children[6]!.process.executable).toMatch(/^C:\\Users\\[a-z.]+\\AppData\\Roaming\\Microsoft\\Teams\\update\.exe$/);
  });

  it('near-misses break exactly one condition each', () => {
    for (const shape of ['defend', 'winlogbeat', 'agent']) {
      const ms = scenario('nearmiss-maxspan', shape);
      expect(micros(step(ms.id, 'step2')) - micros(step(ms.id, 'step1'))).toBe(5_001_000);
      expect(step(ms.id, 'step2').host.id).toBe(step(ms.id, 'step1').host.id);

      const nt = scenario('nearmiss-ntauthority', shape);
      expect(step(nt.id, 'step2').user).toMatchObject({ domain: 'NT AUTHORITY', name: 'SYSTEM' });
      expect(micros(step(nt.id, 'step2')) - micros(step(nt.id, 'step1'))).toBeLessThanOrEqual(5_000_000);

      const oh = scenario('nearmiss-otherhost', shape);
      const [l, c] = [step(oh.id, 'step1'), step(oh.id, 'step2')];
      expect(c.host.id).not.toBe(l.host.id);
      expect(c.agent.type).toBe(l.agent.type);
      expect(micros(c) - micros(l)).toBeLessThanOrEqual(5_000_000);
      expect(c.user.domain).toBe('CORP');

      const rv = scenario('nearmiss-reversed', shape);
      expect(micros(step(rv.id, 'step1')) - micros(step(rv.id, 'step2'))).toBe(1_500_000);
    }
    for (const shape of ['winlogbeat', 'agent']) {
      const no = step(scenario('nearmiss-noofn', shape).id, 'step2');
      expect(no.process.pe.original_file_name).toBeUndefined();
      expect(no.process.executable).toBe('C:\\Windows\\System32\\rundll32.exe');
      expect(no.user.domain).toBe('CORP');
      const rn = step(scenario('nearmiss-noofn-renamed', shape).id, 'step2');
      expect(rn.process.pe.original_file_name).toBeUndefined();
      expect(rn.process.name).toBe('wmisync.exe');
      expect(rn.process.executable).toBe('C:\\Windows\\Temp\\wmisync.exe');
    }
    expect(scenarios.some((s) => s.kind.startsWith('nearmiss-noofn') && s.shape === 'defend')).toBe(false);
  });

  it('keeps scenarios on one host at least 10 s apart so their 5 s windows never overlap', () => {
    const byHost = new Map<string, number[][]>();
    for (const s of scenarios) {
      for (const h of new Set([s.step1Host.id, s.step2Host.id])) {
        byHost.set(h, [...(byHost.get(h) ?? []), [Math.min(s.step1Us, s.step2Us), Math.max(s.step1Us, s.step2Us)]]);
      }
    }
    for (const spans of byHost.values()) {
      spans.sort((x, y) => x[0]! - y[0]!);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]! - spans[i - 1]![1]!).toBeGreaterThan(10_000_000);
    }
  });
});

describe('generate: the seed rule fires on exactly the planted positives', () => {
  const toml = parseToml(readFileSync(join(ROOT, 'rules', 'windows', 'initial_access_scripts_process_started_via_wmi.toml'), 'utf8')) as {
    rule: { query: string; index: string[] };
  };
  const patterns = toml.rule.index.map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  const alertsOf = (events: Doc[]): string[][] => {
    const input: EventDoc[] = [];
    events.forEach((source, i) => {
      const index = routeIndex(source);
      if (patterns.some((p) => p.test(index))) input.push({ source, index, id: String(i) });
    });
    return compile(toml.rule.query)
      .run(input)
      .map((r) => (r.kind === 'event' ? [label(r.event.source) ?? 'background'] : r.events.map((e) => (e ? label(e.source) ?? 'background' : 'missing'))));
  };

  it('over a generated stream', () => {
    const alerts = alertsOf(docs);
    const positives = scenarios.filter((s) => s.positive).map((s) => s.id);
    expect(alerts.map((a) => a[0]).sort()).toEqual([...positives].sort());
    for (const a of alerts) expect(a[1]).toBe(a[0]);
  });

  it('over the committed example file', () => {
    const example = readFileSync(join(ROOT, 'examples', 'windows-sample.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Doc);
    const alerts = alertsOf(example);
    expect(alerts.map((a) => a[0]).sort()).toEqual([
      'seed-positive-agent-1', 'seed-positive-agent-2', 'seed-positive-agent-3',
      'seed-positive-defend-1', 'seed-positive-defend-2', 'seed-positive-defend-3',
      'seed-positive-winlogbeat-1', 'seed-positive-winlogbeat-2', 'seed-positive-winlogbeat-3',
    ]);
    for (const a of alerts) expect(a).toEqual([a[0], a[0]]);
    // Every near-miss is in the file, and none of them fired.
    const labels = new Set(example.map((d) => label(d)).filter(Boolean));
    expect([...labels].filter((l) => l!.startsWith('seed-nearmiss-'))).toHaveLength(16);
  });
});
