// Deciding from raw bytes: needles (strings any matching event's JSON text contains) and the line
// filter that reads lines holding none of them as stubs, without parsing them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../src/engine/index.js';
import { needleOf } from '../src/engine/needles.js';
import { openInput } from '../src/events/inputs.js';
import { isoInstant, LineFilter, lineFilter, TRIAL_LINES } from '../src/events/prefilter.js';
import { parseInstant } from '../src/events/time.js';
import type { EventDoc } from '../src/events/types.js';
import { generateEvents } from '../src/generate/index.js';

const needles = (q: string) => compile(q).needles;

describe('needles', () => {
  it('come from the literals every term requires, lower-cased and JSON-escaped', () => {
    expect(needles('process where process.name : "PowerShell.EXE"')).toEqual(['powershell.exe']);
    expect(needles('process where process.executable : "C:\\\\Windows\\\\*\\\\cmd.exe"')).toEqual(['c:\\\\windows\\\\']);
    expect(needleOf('?:\\Program Files\\*', true)).toBe(':\\\\program files\\\\');
    expect(needles('sequence by host.id [process where process.parent.name : "wmiprvse.exe"] [file where file.name in ("a.txt", "secret.doc")]')).toEqual([
      'wmiprvse.exe',
      'a.txt',
      'secret.doc',
    ]);
    // A conjunction takes its part with the longest weakest needle; a disjunction both branches.
    expect(needles('process where event.type == "start" and process.name : "rundll32.exe"')).toEqual(['rundll32.exe']);
    expect(needles('any where process.name == "sc.exe" or dll.name : "evil.dll"')).toEqual(['sc.exe', 'evil.dll']);
    expect(needles('process where stringContains(process.command_line, "-EncodedCommand")')).toEqual(['-encodedcommand']);
  });

  it('are absent when some term requires no literal, or only negated, numeric, regex or short ones', () => {
    expect(needles('sequence [process where process.name : "a.exe"] [network where true]')).toBeNull();
    expect(needles('process where not process.name : "cmd.exe"')).toBeNull();
    expect(needles('process where process.name != "cmd.exe"')).toBeNull();
    expect(needles('any where event.code : "4688"')).toBeNull();
    expect(needles('process where process.name regex "cmd\\\\.exe"')).toBeNull();
    expect(needles('process where process.name : "?s"')).toBeNull();
    expect(needles('process where process.name : "a.exe" or process.pid == 4')).toBeNull();
    // Non-ASCII letters are left out (their lower case can depend on their neighbours).
    expect(needleOf('Überwachung.exe', false)).toBe('berwachung.exe');
  });
});

const TS = '{"@timestamp":"2025-03-10T08:00:00.123456Z"';
function decide(filter: LineFilter, line: string): boolean {
  return filter.skip(line, 0, line.length) !== null;
}

describe('line filter', () => {
  const f = () => new LineFilter(['powershell.exe', 'c:\\\\windows\\\\'], '@timestamp');

  it('turns itself off when its trial lines were nearly all parsed anyway, and not otherwise', () => {
    const hit = `${TS},"process":{"name":"powershell.exe"}}`;
    const miss = `${TS},"process":{"name":"cmd.exe"}}`;
    // Three lines of four hold a needle: a quarter skipped is enough to keep filtering.
    const kept = f();
    for (let i = 0; i < TRIAL_LINES; i++) decide(kept, i % 4 === 0 ? miss : hit);
    expect(kept.skipped).toBe(TRIAL_LINES / 4);
    expect(decide(kept, miss)).toBe(true);
    expect(kept.off).toBe(false);
    // One line in five without a needle: the search costs more than it saves.
    const dropped = f();
    for (let i = 0; i < TRIAL_LINES; i++) decide(dropped, i % 5 === 0 ? miss : hit);
    expect(dropped.off).toBe(false);
    expect(decide(dropped, miss)).toBe(false);
    expect(dropped.off).toBe(true);
    expect(decide(dropped, miss)).toBe(false);
  });

  it('skips a line holding no needle, and gives its time exactly as parseInstant does', () => {
    const line = `${TS},"process":{"name":"cmd.exe"}}`;
    expect(f().skip(line, 0, line.length)).toEqual(parseInstant('2025-03-10T08:00:00.123456Z'));
    expect(decide(f(), `{"@timestamp":1741593600123.5,"a":"b"}`)).toBe(true);
    const numeric = `{"@timestamp":1741593600123.5,"a":"b"}`;
    expect(f().skip(numeric, 0, numeric.length)).toEqual(parseInstant(1741593600123.5));
  });

  it('parses a line holding a needle in any case, or written with escapes', () => {
    expect(decide(f(), `${TS},"process":{"name":"PowerShell.EXE"}}`)).toBe(false);
    expect(decide(f(), `${TS},"process":{"executable":"C:\\\\WINDOWS\\\\x.exe"}}`)).toBe(false);
    // \u escapes can spell anything: parsed. An escaped backslash before "u" is not an escape.
    expect(decide(f(), `${TS},"process":{"name":"p\\u006fwershell.exe"}}`)).toBe(false);
    expect(decide(f(), `${TS},"p":"C:\\\\users\\\\x"}`)).toBe(true);
    expect(decide(f(), `${TS},"p":"C:\\\\\\u0041"}`)).toBe(false);
    expect(decide(f(), `${TS},"p":"a\\/b"}`)).toBe(false);
    // A needle right after an escaped backslash, or starting inside a winlog event id key (which
    // alone would only ask for the ECS check): found all the same.
    expect(decide(new LineFilter(['users'], '@timestamp'), `${TS},"p":"C:\\\\users\\\\x"}`)).toBe(false);
    expect(decide(new LineFilter(['nt_id'], '@timestamp'), `${TS},"a":"prevent_id","event":{"category":["x"]},"winlog":{"event_id":"1"}}`)).toBe(false);
    expect(decide(new LineFilter(['xyz'], '@timestamp'), `${TS},"a":"prevent_id","event":{"category":["x"]},"winlog":{"event_id":"1"}}`)).toBe(true);
    // The Kelvin sign lower-cases to an ASCII k: a line holding it is parsed.
    expect(decide(new LineFilter(['kit.exe'], '@timestamp'), `${TS},"p":"\u212Ait.exe"}`)).toBe(false);
  });

  it('parses lines it cannot time or that may be cut short, and Windows documents mapped on read', () => {
    expect(decide(f(), `{"event":{"kind":"event"},"@timestamp":"2025-03-10T08:00:00Z"}`)).toBe(false);
    expect(decide(f(), `{"@timestamp":"yesterday","a":1}`)).toBe(false);
    expect(decide(f(), `${TS},"process":{"name":"cmd.exe"`)).toBe(false);
    // Winlogbeat without ECS categorisation (mapped on read), NXLog, RawWindowsEvent JSON.
    expect(decide(f(), `${TS},"winlog":{"channel":"Security","event_id":4688}}`)).toBe(false);
    expect(decide(f(), `${TS},"EventID":4688,"Channel":"Security"}`)).toBe(false);
    expect(decide(f(), `${TS},"System":{"EventID":"1"}}`)).toBe(false);
    // Already ECS (the ingest pipeline ran): skipped like any other line.
    expect(decide(f(), `${TS},"event":{"category":["process"],"type":["start"]},"winlog":{"channel":"Security","event_id":"4688"}}`)).toBe(true);
    expect(decide(f(), `${TS},"user":{"name":"SYSTEM"},"process":{"name":"System"}}`)).toBe(true);
  });

  it('is not used without needles or with too many', () => {
    expect(lineFilter(null, '@timestamp')).toBeNull();
    expect(lineFilter(Array.from({ length: 100 }, (_, i) => `needle${i}`), '@timestamp')).toBeNull();
  });

  it('with an empty needle list parses only the lines it must (Windows shapes mapped on read, escapes)', () => {
    const none = () => lineFilter([], '@timestamp')!;
    expect(none()).not.toBeNull();
    expect(decide(none(), `${TS},"event":{"category":["network"]},"network":{"direction":"egress"}}`)).toBe(true);
    expect(decide(none(), `${TS},"process":{"name":"powershell.exe"}}`)).toBe(true);
    expect(decide(none(), `${TS},"winlog":{"channel":"Security","event_id":4688}}`)).toBe(false);
    expect(decide(none(), `${TS},"EventID":4688,"Channel":"Security"}`)).toBe(false);
    expect(decide(none(), `${TS},"System":{"EventID":"1"}}`)).toBe(false);
    expect(decide(none(), `${TS},"process":{"name":"\\u0070owershell.exe"}}`)).toBe(false);
  });

  it('reads ISO timestamps as parseInstant does', () => {
    const cases = ['2025-03-10T08:00:00Z', '2025-03-10T08:00:00.1Z', '2025-03-10T23:59:60.123456789Z', '1999-12-31T24:00:00.000Z', '2024-02-30T08:00:00.5Z'];
    for (let i = 0; i < 200; i++) cases.push(new Date(Date.UTC(2000 + (i % 30), i % 12, 1 + (i % 28), i % 24, (i * 7) % 60, (i * 13) % 60, i)).toISOString());
    for (const c of cases) expect(isoInstant(c, 0, c.length)).toEqual(parseInstant(c));
    for (const c of ['2025-03-10 08:00:00Z', '2025-03-10T08:00:00+01:00', '0099-03-10T08:00:00Z', '2025-13-10T08:00:00Z', '2025-03-10T08:00:00.Z']) {
      expect(isoInstant(c, 0, c.length)).toBeNull();
    }
  });
});

const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-prefilter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(file: string, n: readonly string[] | null): Promise<EventDoc[]> {
  const out: EventDoc[] = [];
  for await (const b of openInput({ path: file, kind: 'json' }, { needles: n }).batches()) out.push(...b);
  return out;
}

describe('reading with needles', () => {
  it('gives the same events in the same order, parsing at least every event a query can use', async () => {
    const file = path.join(dir, 'g.ndjson');
    const lines = [...generateEvents({ events: 2000, hosts: 9, seed: 3, detail: 'lean' })].map((d) => JSON.stringify(d));
    writeFileSync(file, lines.join('\n') + '\n');
    const q = compile('sequence by host.id [any where dll.name : "wmiutils.dll"] [process where process.parent.name : "wmiprvse.exe"]');
    const all = await readAll(file, null);
    const filtered = await readAll(file, q.needles);
    const key = (e: EventDoc) => [e.id, e.position?.line, e.time ?? parseInstant(e.source['@timestamp'])];
    expect(filtered.map(key)).toEqual(all.map(key));
    const stubs = filtered.filter((e) => e.routed !== undefined).length;
    expect(stubs).toBeGreaterThan(1300);
    for (let i = 0; i < all.length; i++) {
      if (q.relevant(all[i]!)) expect(filtered[i]!.routed).toBeUndefined();
    }
    expect(q.run(filtered.filter((e) => e.routed === undefined))).toEqual(q.run(all));
  });
});

describe('input shapes with stubs', () => {
  it('count unparsed lines as documents, with or without event.category, as parsing would', async () => {
    const file = path.join(dir, 's.ndjson');
    const lines = [
      `${TS},"event":{"category":["process"]},"process":{"name":"cmd.exe"}}`,
      `${TS},"message":"no category here"}`,
      `${TS},"event.category":"file","file":{"name":"a.txt"}}`,
      `${TS},"message":"nor here"}`,
      `${TS},"process":{"name":"powershell.exe"}}`,
    ];
    writeFileSync(file, lines.join('\n') + '\n');
    const shapeOf = async (n: readonly string[] | null) => {
      const input = openInput({ path: file, kind: 'json' }, { needles: n });
      const docs: EventDoc[] = [];
      for await (const b of input.batches()) docs.push(...b);
      return { stubs: docs.filter((e) => e.routed !== undefined).length, shape: input.shape!() };
    };
    const plain = await shapeOf(null);
    expect(plain).toEqual({ stubs: 0, shape: { docs: 5, noCategory: 3, shapes: { ECS: 2, JSON: 3 } } });
    const filtered = await shapeOf(['powershell.exe']);
    expect(filtered.stubs).toBe(4);
    expect(filtered.shape).toEqual(plain.shape);
  });
});
