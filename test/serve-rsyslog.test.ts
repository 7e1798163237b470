// A real shipper, not a replay: rsyslog's omelasticsearch output (Debian's rsyslog-elasticsearch)
// reads the sample file and ships it to a running `eqlite serve` with _bulk, as it would to
// Elasticsearch. None of the shippers the issue names (Beats, Agent, Logstash, Fluent Bit,
// Vector) is packaged in Debian or npm; rsyslog is, and it implements bulk, its retries and
// its error handling independently of us. Skipped where rsyslog or the module is missing
// (`.ci/run` installs them).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { huntStored, req, servedAlertIds, startService, waitFor, type TestService } from './serve-helpers.js';

const CERT = path.resolve(__dirname, 'fixtures/tls/cert.pem');
const KEY = path.resolve(__dirname, 'fixtures/tls/key.pem');

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
 * Winlogbeat's events, which have none), the line sent unchanged. Retried forever, every second, from a queue,
 * so nothing is dropped while the server is busy; items Elasticsearch refuses go to `errorfile`.
 */
function rsyslogConfig(dir: string, port: number, output: string): string {
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
         errorfile="${dir}/errors.json" action.resumeRetryCount="-1" action.resumeInterval="1" queue.type="LinkedList"${output})
}
`;
}

/** Status of an empty bulk request over HTTPS (trusting the test certificate) without a credential. */
function bulkStatusWithoutCredential(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest(`${url}/_bulk`, { method: 'POST', ca: readFileSync(CERT), headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end('{"create":{"_index":"logs-x-default"}}\n{"@timestamp":"2025-03-10T08:00:00Z"}\n');
  });
}

/** Runs rsyslogd in the foreground with the configuration above until `stop` is called. */
function startRsyslog(t: TestService, output: string): { stop(): Promise<void>; output(): string } {
  const port = Number(new URL(t.url).port);
  const conf = path.join(t.dir, 'rsyslog.conf');
  writeFileSync(conf, rsyslogConfig(t.dir, port, output));
  mkdirSync(path.join(t.dir, 'work'));
  const child: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', path.join(t.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  return {
    output: () => text,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Waits until the sample is stored (at most a minute), then checks the store and the alerts. */
async function expectSampleShipped(t: TestService, rsyslogOutput: () => string): Promise<void> {
  const count = () => (t.svc.store.db().prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  const stored = await waitFor(count, (n) => n >= 1800, 40_000);
  expect(stored, rsyslogOutput()).toBe(1800);
  // No item was refused (rsyslog writes refused items to its error file).
  expect(existsSync(path.join(t.dir, 'errors.json')) ? readFileSync(path.join(t.dir, 'errors.json'), 'utf8').slice(0, 2000) : '', rsyslogOutput()).toBe('');
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
}

describe.skipIf(!rsyslogAvailable())('rsyslog omelasticsearch ships to eqlite serve', { timeout: 90_000 }, () => {
  let t: TestService;
  let rsyslog: ReturnType<typeof startRsyslog> | undefined;
  afterEach(async () => {
    await rsyslog?.stop();
    await t?.close();
  });

  test('plain HTTP: every line stored once under its data stream, and the alerts an offline hunt of them gives', async () => {
    t = await startService();
    rsyslog = startRsyslog(t, '');
    await expectSampleShipped(t, rsyslog.output);
    // The service's own count answers the same.
    expect((await req(`${t.url}/logs-*,winlogbeat-*/_count`, 'GET')).json.count).toBe(1800);
  });

  test('over TLS with a user of the ingest role (HTTP basic), as a secured deployment runs it', async () => {
    t = await startService((c) => {
      c.tls = { cert: CERT, key: KEY };
    });
    await t.svc.credentials.setUser('rsyslog', 'shipper-secret-1', 'ingest');
    rsyslog = startRsyslog(t, `\n         usehttps="on" tls.cacert="${CERT}" uid="rsyslog" pwd="shipper-secret-1"`);
    await expectSampleShipped(t, rsyslog.output);
    // The credential was needed: the same request without it gets 401.
    expect(await bulkStatusWithoutCredential(t.url)).toBe(401);
  });
});
