// Starting an `eqlite serve` instance for tests: a fresh data directory, port 0, logs captured.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { hunt } from '../src/detect/hunt.js';
import { defaultRulesDir, loadRules } from '../src/rules/load.js';
import { defaultConfig, type ServeConfig } from '../src/serve/config.js';
import { Service } from '../src/serve/service.js';
import { eventSource } from '../src/serve/store/event-store.js';

export interface TestService {
  svc: Service;
  url: string;
  dir: string;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startService(edit: (c: ServeConfig) => void = () => {}, opts: { dir?: string; pathPrefix?: string } = {}): Promise<TestService> {
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'eqlite-serve-'));
  const config = defaultConfig();
  config.data = dir;
  config.port = 0;
  config.retention.everyMs = 200;
  // Hermetic: the bundled seed rule, whatever rule release this machine has installed.
  config.rules = [defaultRulesDir()];
  edit(config);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const svc = await Service.start({ config, log, pathPrefix: opts.pathPrefix });
  return {
    svc,
    url: svc.url,
    dir,
    logs,
    close: async () => {
      await svc.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** A request with fetch; `body` objects are sent as JSON, strings and buffers as they are. */
export async function req(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  let payload: string | Buffer | undefined;
  if (body === undefined) payload = undefined;
  else if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body as string | Buffer;
  else {
    payload = JSON.stringify(body);
    headers = { 'content-type': 'application/json', ...headers };
  }
  const r = await fetch(url, { method, body: payload, headers });
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

/** NDJSON bulk body from [action, source?] pairs. */
export function ndjson(lines: unknown[]): string {
  return lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
}

export function gzip(s: string): Buffer {
  return gzipSync(Buffer.from(s));
}

/** Polls `what` every 100 ms until `ok` holds or `ms` have passed; returns the last value. */
export async function waitFor<T>(what: () => T, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = what();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The ids of the alerts the service wrote, sorted. */
export function servedAlertIds(t: TestService): string[] {
  return (t.svc.alerts.db.prepare('SELECT id FROM alerts ORDER BY id').all() as { id: string }[]).map((r) => r.id);
}

/** The stored events as Elasticsearch hits (what a `_search` export would give), hunted offline. */
export async function huntStored(t: TestService): Promise<string[]> {
  const rows = t.svc.store.db().prepare('SELECT idx, id, ingested, src FROM events ORDER BY seq').all() as { idx: string; id: string; ingested: number; src: string }[];
  const file = path.join(t.dir, 'export.ndjson');
  writeFileSync(file, rows.map((r) => JSON.stringify({ _index: r.idx, _id: r.id, _source: eventSource(r) })).join('\n') + '\n');
  const { rules, exceptionLists } = loadRules([defaultRulesDir()]);
  const { alerts } = await hunt({ rules, exceptionLists, inputs: [file], threads: 0 });
  return alerts.map((a) => String(a['kibana.alert.uuid'])).sort();
}
