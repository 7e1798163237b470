// `eqlite serve` with TLS (`--tls-cert/--tls-key`, [tls] in the config): HTTPS on the listen
// address, which a client trusting the certificate uses like Elasticsearch (the official client,
// as shippers configured with `ssl.certificate_authorities`); plain HTTP is refused; a missing
// certificate file is a one-line error. The certificate is a test-only fixture (test/fixtures/tls).
import { request } from 'node:https';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../src/serve/config.js';
import { runCli } from './cli-helpers.js';
import { startService, type TestService } from './serve-helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const CERT = path.resolve(__dirname, 'fixtures/tls/cert.pem');
const KEY = path.resolve(__dirname, 'fixtures/tls/key.pem');

function get(url: string, ca: Buffer | null): Promise<{ status: number; product: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(url, { method: 'GET', ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, product: res.headers['x-elastic-product'] as string | undefined, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('TLS', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startService((c) => {
      c.tls = { cert: CERT, key: KEY };
    });
  });
  afterAll(async () => {
    await t.close();
  });

  test('serves HTTPS to a client that trusts the certificate; refuses one that does not, and plain HTTP', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(CERT);
    const root = await get(`${t.url}/`, ca);
    expect(root.status).toBe(200);
    expect(root.product).toBe('Elasticsearch');
    expect(JSON.parse(root.body).tagline).toBe('You Know, for Search');
    // Without the CA: the certificate is not trusted (self-signed).
    await expect(get(`${t.url}/`, null)).rejects.toThrow(/self[- ]signed/i);
    // Plain HTTP on the TLS port gets no HTTP answer.
    await expect(fetch(t.url.replace('https:', 'http:') + '/')).rejects.toThrow();
  });

  test('the Elasticsearch client over TLS: bulk, then count what it stored', async () => {
    const client = new Client({ node: t.url, tls: { ca: readFileSync(CERT) } });
    try {
      const bulk = await client.bulk({
        refresh: true,
        operations: [{ create: { _index: 'logs-tls-default', _id: 't1' } }, { '@timestamp': '2025-08-01T10:00:00Z', message: 'over TLS' }],
      });
      expect(bulk.errors).toBe(false);
      expect(bulk.items[0]!.create!.status).toBe(201);
      expect((await client.count({ index: 'logs-tls-*' })).count).toBe(1);
    } finally {
      await client.close();
    }
  });

  test('a missing certificate file is a one-line error naming it', async () => {
    const missing = path.join(path.dirname(CERT), 'nope.pem');
    const started = startService((c) => {
      c.tls = { cert: missing, key: KEY };
    });
    await expect(started).rejects.toThrow(ConfigError);
    await expect(started).rejects.toThrow(`cannot read TLS certificate ${missing}: no such file`);
  });

  test('the CLI: a missing certificate or a lone --tls-cert exits 2 with one line (no hang)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eqlite-tls-'));
    try {
      const missing = path.join(dir, 'cert.pem');
      const r = await runCli(['serve', '--data', path.join(dir, 'data'), '--listen', '127.0.0.1:0', '--tls-cert', missing, '--tls-key', KEY]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`error: cannot read TLS certificate ${missing}: no such file`);
      const lone = await runCli(['serve', '--data', path.join(dir, 'data'), '--listen', '127.0.0.1:0', '--tls-cert', CERT]);
      expect(lone.code).toBe(2);
      expect(lone.stderr.trim()).toBe('error: --tls-cert and --tls-key go together');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
