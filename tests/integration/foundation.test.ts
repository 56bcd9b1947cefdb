/**
 * The walking skeleton end to end: the real compose file, both images built
 * from this checkout, a beat crossing the compose network over UDP, the
 * status page and API showing it, the logs honouring their schema, a
 * malformed datagram reported, and a clean stop.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type ComposeFixture, upCompose } from '../support/compose.js';
import { untilLogged } from '../support/log-lines.js';
import { setUpSuite } from '../support/suite-setup.js';
import { eventually, sendUdp } from '../support/udp.js';

interface ApiDatagram {
  kind: string;
  source: string | null;
  seq: number | null;
  reason: string | null;
}

describe('foundation: docker compose up', () => {
  let fx: ComposeFixture;
  setUpSuite(async () => {
    fx = await upCompose({ environment: { BEACON_INTERVAL: '1s', MARK_INTERVAL: '1s' } });
  });
  afterAll(async () => {
    await fx?.down();
  });

  it('shows at least 3 beats from the server with consecutive seq in the API and on the page', async () => {
    const beats = await eventually(
      async () => {
        const list = await fx.getJson<ApiDatagram[]>('/api/datagrams?limit=50');
        const fromServer = list.filter((d) => d.kind === 'beat');
        expect(fromServer.length).toBeGreaterThanOrEqual(3);
        return fromServer;
      },
      30_000,
      250,
    );
    const seqs = beats.map((d) => d.seq as number).reverse();
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1] as number) + 1);
    const source = beats[0]?.source as string;
    const html = await (await fetch(`${fx.clientUrl}/`)).text();
    expect(html).toContain(source);
    // A datagram row: received, kind, sender, seq, ...
    for (const seq of seqs.slice(-3)) expect(html).toContain(`<td>beat<td>${source}<td>${seq}<td>`);
  });

  it('logs JSON lines that match the schema, one readable event per datagram shown', async () => {
    const shown = await eventually(
      async () => {
        const beats = (await fx.getJson<ApiDatagram[]>('/api/datagrams?limit=500')).filter(
          (d) => d.kind === 'beat',
        );
        expect(beats.length).toBeGreaterThanOrEqual(3);
        return beats;
      },
      30_000,
      250,
    );
    await untilLogged(
      () => fx.logRecords('client'),
      (lines) => {
        const readable = new Map<string, number>();
        for (const l of lines.filter((x) => x.event === 'readable' && x.kind === 'beat')) {
          const key = `${l.source}/${l.seq}`;
          readable.set(key, (readable.get(key) ?? 0) + 1);
        }
        expect(shown.map((d) => [`${d.source}/${d.seq}`, readable.get(`${d.source}/${d.seq}`)])).toEqual(
          shown.map((d) => [`${d.source}/${d.seq}`, 1]),
        );
      },
    );
    expect((await fx.logRecords('server')).some((l) => l.event === 'send')).toBe(true);
  });

  it('reports a malformed datagram sent to the client container as an exception, takes plain text as text, and keeps serving', async () => {
    const address = await fx.ipAddress('client');
    await sendUdp(5000, ['not json', '{"v":1,"broken'], address);
    await eventually(
      async () => {
        const lines = await fx.logRecords('client');
        const reasons = lines.filter((l) => l.event === 'exception').map((l) => l.reason);
        expect(reasons).toContain('malformed_json');
        // Plain text is no exception: it is a plain-text sender's datagram (README, plain-text senders).
        expect(reasons).not.toContain('not_json');
        expect(lines.some((l) => l.event === 'readable' && l.kind === 'text')).toBe(true);
      },
      10_000,
      250,
    );
    const health = await fetch(`${fx.clientUrl}/healthz`);
    expect(health.status).toBe(200);
    const before = (await fx.getJson<ApiDatagram[]>('/api/datagrams?limit=1'))[0];
    await eventually(
      async () => {
        const after = (await fx.getJson<ApiDatagram[]>('/api/datagrams?limit=1'))[0];
        expect(after?.kind).toBe('beat');
        expect(after).not.toEqual(before);
      },
      10_000,
      250,
    );
  });

  it('stops both containers with exit code 0', async () => {
    await fx.compose('stop', '--timeout', '5');
    for (const service of ['server', 'client']) {
      const id = await fx.containerId(service);
      const state = (await fx.docker('inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id)).trim();
      expect(`${service}: ${state}`).toBe(`${service}: exited 0`);
    }
  });
});
