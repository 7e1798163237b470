// Start-up of a cluster node while its NATS servers cannot yet serve JetStream (they start with the
// nodes; a leader is being elected; a majority is missing): the node retries the set-up with
// backoff, logging each attempt, and starts once JetStream answers; a failure that outlasts the
// retry bound ends start-up with one line. Real nats-server processes (skipped without them).
import pino from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isTransient, openCluster } from '../src/cluster/nats.js';
import { ConfigError, defaultClusterConfig, defaultConfig } from '../src/serve/config.js';
import { NatsCluster, natsServerPath, NO_NATS } from './nats-helpers.js';

const nats = natsServerPath();

/** A logger whose lines are kept (to see the retries). */
function capturingLog(): { log: pino.Logger; lines: { msg: string; attempt?: number }[] } {
  const lines: { msg: string; attempt?: number }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: 'warn' }, sink), lines };
}

describe('which JetStream failures are retried', () => {
  test('a server down or just back, a timeout, a leader election: retried; a refused compare-and-set: not', () => {
    // A restarted server is "offline" to the meta leader for a moment after it is back.
    expect(isTransient(new Error('no suitable peers for placement, peer offline'))).toBe(true);
    expect(isTransient(new Error('insufficient resources'))).toBe(true);
    expect(isTransient(new Error('TIMEOUT'))).toBe(true);
    expect(isTransient(new Error('JetStream system temporarily unavailable'))).toBe(true);
    expect(isTransient(Object.assign(new Error('wrong last sequence: 4'), { code: 10071 }))).toBe(false);
    expect(isTransient(new Error('stream name is required'))).toBe(false);
  });
});

describe.runIf(nats !== null)(nats ? 'cluster node start-up while JetStream has no majority' : NO_NATS, () => {
  let cluster: NatsCluster;

  beforeAll(async () => {
    cluster = await NatsCluster.start(3);
    // Two of the three servers down: the one left has no JetStream meta leader.
    await cluster.kill(1);
    await cluster.kill(2);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const configFor = (name: string) => {
    const config = defaultConfig();
    config.retention.maxBytes = 16 * 1024 * 1024;
    config.cluster = { ...defaultClusterConfig([cluster.urls[0]!]), name, partitions: 4, replicas: 3, nodeId: 'starting' };
    return config;
  };

  test('a failure that outlasts the retry bound ends start-up with one line naming the step', async () => {
    const { log } = capturingLog();
    const err = await openCluster(configFor('late'), log, 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^cluster: cannot set up JetStream: .+ \(still failing after 1 attempts over 1 s\)$|^cannot create the JetStream bucket late_state: .+ \(still failing after 1 attempts over 1 s\)$/);
    expect((err as Error).message).not.toContain('\n');
  }, 60_000);

  test('retried with backoff (each attempt logged) until the servers are back, then the stream and buckets exist', async () => {
    const { log, lines } = capturingLog();
    let failed: unknown = null;
    const opening = openCluster(configFor('eventually'), log, 110_000).catch((e: unknown) => {
      failed = e;
      return null;
    });
    // The servers come back once the first attempt failed, as when NATS and eqlite start together.
    while (failed === null && !lines.some((l) => l.msg === 'cluster: JetStream set-up failed; retrying')) await new Promise((r) => setTimeout(r, 100));
    await cluster.restart(1);
    await cluster.restart(2);
    const res = await opening;
    expect(failed).toBe(null);
    if (!res) return;
    try {
      expect(res.replicas).toBe(3);
      const info = await res.jsm.streams.info('eventually_events');
      expect(info.config.num_replicas).toBe(3);
      expect(await res.buckets.state.get('cluster').then((e) => e?.json<{ partitions: number }>().partitions)).toBe(4);
      const retries = lines.filter((l) => l.msg === 'cluster: JetStream set-up failed; retrying');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries.map((l) => l.attempt)).toEqual(retries.map((_, i) => i + 1));
    } finally {
      await res.nc.close();
    }
  }, 120_000);
});
