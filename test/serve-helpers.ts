// Starting an `eqlite serve` instance for tests: a fresh data directory, port 0, logs captured.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { defaultRulesDir } from '../src/rules/load.js';
import { defaultConfig, type ServeConfig } from '../src/serve/config.js';
import { Service } from '../src/serve/service.js';

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
