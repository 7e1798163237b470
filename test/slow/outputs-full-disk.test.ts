// Issue 16 on a real full disk (a small tmpfs; needs root, skipped otherwise): `hunt --out` and
// `convert -o` stop with one line naming the file and "no space left on device", exit 2, no stack
// trace, and the file holds whole lines only; what --db stored matches what the file kept.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { evilRuleToml } from '../cli-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const isRoot = process.getuid?.() === 0;

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** 2,000 minutes, one evil.exe start each: 2,000 alerts of ~3 KB, far more than the disk holds. */
function events(): string {
  const lines: string[] = [];
  for (let m = 0; m < 2000; m++) {
    const ts = new Date(Date.UTC(2025, 0, 1) + m * 60_000).toISOString();
    lines.push(JSON.stringify({ '@timestamp': ts, event: { category: ['process'], type: ['start'] }, host: { id: 'h1', name: 'ws-1' }, process: { name: 'evil.exe', pid: m, command_line: 'x'.repeat(300) } }));
  }
  return lines.join('\n') + '\n';
}

describe.runIf(isRoot)('outputs on a full disk', () => {
  test('hunt --out and convert -o: one line, exit 2, whole lines kept, --db consistent with the file', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'eqlite-full-'));
    const mnt = path.join(work, 'small');
    execFileSync('mkdir', [mnt]);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      console.log('tmpfs mount not permitted here: skipped');
      return;
    }
    try {
      const rules = path.join(work, 'rule.toml');
      writeFileSync(rules, evilRuleToml());
      const input = path.join(work, 'events.ndjson');
      writeFileSync(input, events());

      const out = path.join(mnt, 'alerts.ndjson');
      const db = path.join(work, 'alerts.sqlite');
      const h = await cli(['hunt', '--rules', rules, '--index', 'logs-x', '--out', out, '--db', db, '--format', 'none', input]);
      expect(h.code).toBe(2);
      expect(h.stderr).not.toMatch(/internal error|\n\s+at /);
      const lines = h.stderr.trimEnd().split('\n');
      expect(lines[0]).toBe(`error: cannot write ${out}: no space left on device`);
      const text = readFileSync(out, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      const kept = text.trimEnd().split('\n').map((l) => String(JSON.parse(l)['kibana.alert.uuid']));
      expect(lines[1]).toBe(`${kept.length} whole alert line(s) kept in ${out}`);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(2000);
      const d = new Database(db, { readonly: true });
      const stored = new Set((d.prepare('SELECT id FROM alerts').all() as { id: string }[]).map((r) => r.id));
      d.close();
      for (const id of kept) expect(stored.has(id)).toBe(true);
      rmSync(out);

      const converted = path.join(mnt, 'ecs.ndjson');
      const c = await cli(['convert', input, '-o', converted]);
      expect(c.code).toBe(2);
      const clines = c.stderr.trimEnd().split('\n');
      expect(clines[0]).toBe(`error: cannot write ${converted}: no space left on device`);
      const ctext = readFileSync(converted, 'utf8');
      expect(ctext.endsWith('\n')).toBe(true);
      const docs = ctext.trimEnd().split('\n').map((l) => JSON.parse(l) as { process: { pid: number } });
      expect(clines[1]).toBe(`${docs.length} whole line(s) kept in ${converted}`);
      expect(docs.map((x) => x.process.pid)).toEqual(docs.map((_, i) => i));
    } finally {
      try {
        execFileSync('umount', ['-l', mnt]);
      } catch {
        /* already unmounted */
      }
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);
});
