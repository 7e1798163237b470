// Hunting an .evtx file directly must raise the same alerts as hunting its `eqlite convert`
// output (issue: EVTX reader). Event ids differ (record id vs NDJSON line), so alerts are compared
// by rule, original time and reason.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { convertFiles } from '../src/cli/convert.js';
import { hunt } from '../src/detect/hunt.js';
import { loadRules } from '../src/rules/load.js';

const shared = path.resolve(import.meta.dirname, '..', '..', 'shared');
const evtxDir = path.join(shared, 'corpus', 'evtx');
const corpus = path.join(shared, 'corpus', 'elastic-rules', 'eql-rules.ndjson');

async function alertKeys(input: string, rules: ReturnType<typeof loadRules>): Promise<string[]> {
  const r = await hunt({ rules: rules.rules.filter((x) => !x.unsupported), exceptionLists: rules.exceptionLists, inputs: [input] });
  return r.alerts
    .map((a) => [a['kibana.alert.rule.rule_id'], a['kibana.alert.original_time'], a['kibana.alert.reason']].join('|'))
    .sort();
}

describe.skipIf(!existsSync(evtxDir) || !existsSync(corpus))('hunt on EVTX equals hunt on converted NDJSON', () => {
  const rules = loadRules([corpus]);
  const expected: Record<string, number> = {
    'sysmon-dirty.evtx': 12,
    'sysmon-uacme64-dns-filedelete.evtx': 1,
    'sysmon-wmi-cscript-comsvcs.evtx': 1,
    'security-4624-4688-wmi.evtx': 0,
  };
  for (const [file, count] of Object.entries(expected)) {
    it(file, async () => {
      const evtx = path.join(evtxDir, file);
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      await convertFiles([evtx], {}, out, () => {});
      const dir = mkdtempSync(path.join(os.tmpdir(), 'eqlite-evtx-'));
      const ndjson = path.join(dir, file.replace('.evtx', '.ndjson'));
      writeFileSync(ndjson, Buffer.concat(chunks));
      const direct = await alertKeys(evtx, rules);
      const converted = await alertKeys(ndjson, rules);
      expect(direct.length).toBe(count);
      expect(converted).toEqual(direct);
    }, 120_000);
  }
});
