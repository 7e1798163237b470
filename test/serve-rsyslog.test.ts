// A real shipper, not a replay: rsyslog's omelasticsearch output (Debian's rsyslog-elasticsearch)
// reads the sample file and ships it to a running `eqlite serve` with _bulk, as it would to
// Elasticsearch. None of the shippers the issue names (Beats, Agent, Logstash, Fluent Bit,
// Vector) is packaged in Debian or npm; rsyslog is, and it implements bulk, its retries and
// its error handling independently of us. Skipped where rsyslog or the module is missing
// (`.ci/run` installs them).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { huntStored, req, servedAlertIds, startService, waitFor, type TestService } from './serve-helpers.js';

const SAMPLE = path.resolve('examples/windows-sample.ndjson');
const RSYSLOGD = '/usr/sbin/rsyslogd';

/** Whether rsyslogd and its omelasticsearch module are installed (the module's folder is per architecture). */
function rsyslogAvailable(): boolean {
  if (!existsSync(RSYSLOGD)) return false;
  try {
    return readdirSync('/usr/lib').some((d) => existsSync(path.join('/usr/lib', d, 'rsyslog', 'omelasticsearch.so')));
  } catch {
    return false;
  }
}

/**
 * The configuration a user would write to ship NDJSON events to their data streams: each line
 * parsed (mmjsonparse), its index made from `data_stream.*` (or `winlogbeat-<version>` for
 * Winlogbeat's events, which have none), the line sent unchanged. Retried forever from a queue,
 * so nothing is dropped while the server is busy; items Elasticsearch refuses go to `errorfile`.
 */
function rsyslogConfig(dir: string, port: number): string {
  return `global(workDirectory="${dir}/work" maxMessageSize="64k")
module(load="imfile")
module(load="mmjsonparse")
module(load="omelasticsearch")
template(name="doc" type="string" string="%msg%")
template(name="index" type="string" string="%$.index%")
input(type="imfile" File="${SAMPLE}" Tag="sample" ruleset="ship")
ruleset(name="ship") {
  action(type="mmjsonparse" cookie="")
  if $!data_stream!dataset != "" then {
    set $.index = $!data_stream!type & "-" & $!data_stream!dataset & "-" & $!data_stream!namespace;
  } else {
    set $.index = "winlogbeat-" & $!agent!version;
  }
  action(type="omelasticsearch" server="127.0.0.1" serverport="${port}" template="doc"
         searchIndex="index" dynSearchIndex="on" esVersion.major="8" bulkmode="on"
         errorfile="${dir}/errors.json" action.resumeRetryCount="-1" queue.type="LinkedList")
}
`;
}

describe.skipIf(!rsyslogAvailable())('rsyslog omelasticsearch ships to eqlite serve', () => {
  let t: TestService;
  let rsyslog: ChildProcess | undefined;
  let rsyslogOutput = '';
  beforeAll(async () => {
    t = await startService();
  });
  afterAll(async () => {
    if (rsyslog && rsyslog.exitCode === null) {
      rsyslog.kill('SIGTERM');
      await new Promise((r) => rsyslog!.once('exit', r));
    }
    await t.close();
  });

  test('every line stored once under its data stream, and the alerts an offline hunt of them gives', async () => {
    const port = Number(new URL(t.url).port);
    const conf = path.join(t.dir, 'rsyslog.conf');
    writeFileSync(conf, rsyslogConfig(t.dir, port));
    mkdirSync(path.join(t.dir, 'work'));
    rsyslog = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', path.join(t.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    rsyslog.stdout!.on('data', (b: Buffer) => (rsyslogOutput += b.toString()));
    rsyslog.stderr!.on('data', (b: Buffer) => (rsyslogOutput += b.toString()));

    const count = async () => (await req(`${t.url}/logs-*,winlogbeat-*/_count`, 'GET')).json?.count as number;
    let stored = 0;
    const end = Date.now() + 60_000;
    while (stored < 1800 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      stored = await count();
    }
    expect(stored, rsyslogOutput).toBe(1800);
    // No item was refused (rsyslog writes refused items to its error file).
    expect(existsSync(path.join(t.dir, 'errors.json')), rsyslogOutput).toBe(false);
    // Under the indices the lines name: 8 data streams and two Winlogbeat versions' indices.
    const indices = t.svc.store.db().prepare('SELECT idx, COUNT(*) AS n FROM events GROUP BY idx ORDER BY idx').all() as { idx: string; n: number }[];
    expect(indices).toEqual([
      { idx: 'logs-endpoint.events.file-default', n: 31 },
      { idx: 'logs-endpoint.events.library-default', n: 345 },
      { idx: 'logs-endpoint.events.network-default', n: 123 },
      { idx: 'logs-endpoint.events.process-default', n: 79 },
      { idx: 'logs-endpoint.events.registry-default', n: 17 },
      { idx: 'logs-endpoint.events.security-default', n: 5 },
      { idx: 'logs-system.security-default', n: 4 },
      { idx: 'logs-windows.sysmon_operational-default', n: 530 },
      { idx: 'winlogbeat-7.17.25', n: 273 },
      { idx: 'winlogbeat-8.15.3', n: 393 },
    ]);
    const ids = await waitFor(() => servedAlertIds(t), (v) => v.length >= 27);
    expect(ids).toHaveLength(27);
    expect(ids).toEqual(await huntStored(t));
  });
});
