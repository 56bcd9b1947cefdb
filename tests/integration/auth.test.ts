/**
 * Authenticated datagrams end to end, with the production override
 * docker-compose.auth.yml layered on the real compose file: keys as Docker
 * secrets (generated here, in a temp folder, never in the repository), the
 * server signing, the client requiring a valid MAC. Datagrams the test sends
 * go from the host to the client container's bridge address (a network this
 * run created).
 */
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLogLine } from '../../services/shared/log-schema.js';
import { type Datagram, encodeDatagram } from '../../services/shared/protocol.js';
import { datagram } from '../support/builders.js';
import { type ComposeFixture, REPO_ROOT, upCompose } from '../support/compose.js';
import { schemaProblems } from '../support/log-lines.js';
import { setUpSuite } from '../support/suite-setup.js';
import { eventually, sendUdp } from '../support/udp.js';

const run = promisify(execFile);
const OVERRIDE = 'docker-compose.auth.yml';

interface ApiDatagram {
  id: number;
  kind: string;
  source: string | null;
  boot: string | null;
  seq: number | null;
  sentAt: string | null;
  text: string | null;
  bytes: number;
  reason: string | null;
  verified: boolean;
}
interface ApiStatus {
  totals: { datagrams: number; accepted: number; exceptions: Record<string, number> };
}

/** A folder only this user can enter, holding a key file the containers' uid 1000 can read. */
function secretsDir(keyText: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'udpts-secrets-'));
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, 'beacon-k1.key'), keyText, { mode: 0o644 });
  chmodSync(join(dir, 'beacon-k1.key'), 0o644);
  return dir;
}

describe('authenticated datagrams: docker-compose.auth.yml', () => {
  // What `openssl rand -base64 48` writes.
  const keyText = `${randomBytes(48).toString('base64')}\n`;
  const key = Buffer.from(keyText.trim());
  const k1 = { keyId: 'k1', key };
  const dir = secretsDir(keyText);
  const shortDir = secretsDir('c2hvcnQga2V5\n'); // 12 characters: too short
  let fx: ComposeFixture;
  let clientAddress = '';

  setUpSuite(async () => {
    fx = await upCompose({
      overrides: [OVERRIDE],
      environment: { AUTH_SECRETS_DIR: dir, BEACON_INTERVAL: '1s', MARK_INTERVAL: '1s' },
    });
    clientAddress = await fx.ipAddress('client');
  });
  afterAll(async () => {
    await fx?.down();
    rmSync(dir, { recursive: true, force: true });
    rmSync(shortDir, { recursive: true, force: true });
  });

  const recent = (limit = 100) => fx.getJson<ApiDatagram[]>(`/api/datagrams?limit=${limit}`);
  const exceptions = async () => (await fx.getJson<ApiStatus>('/api/status')).totals.exceptions;
  const send = (...payloads: Buffer[]) => sendUdp(5000, payloads, clientAddress);
  const beatFrom = (source: string, boot: string, seq: number, sentAtMs: number): Datagram =>
    datagram({ source, boot, seq, sentAt: new Date(sentAtMs).toISOString() });

  it('shows the server’s signed beats as verified, and no key in any log', async () => {
    const beats = await eventually(
      async () => {
        const b = (await recent()).filter((d) => d.kind === 'beat');
        expect(b.length).toBeGreaterThanOrEqual(3);
        return b;
      },
      30_000,
      250,
    );
    for (const b of beats) expect(b).toMatchObject({ verified: true, reason: null });
    const server = await fx.logRecords('server');
    expect(server.find((l) => l.event === 'start')).toMatchObject({ signed: true, keyId: 'k1' });
    const client = await fx.logLines('client');
    const start = JSON.parse(client.find((l) => l.includes('"event":"start"')) as string);
    expect(start.config).toMatchObject({ requireAuth: true, keyFiles: ['k1'] });
    expect(
      client.map((l) => JSON.parse(l)).filter((l) => l.event === 'readable' && l.kind === 'beat'),
    ).toEqual(expect.arrayContaining([expect.objectContaining({ verified: true })]));
    // The secret never appears in a log line, in any form.
    const allLines = [...client, ...(await fx.logLines('server'))];
    for (const form of [key.toString(), key.toString('hex'), key.toString('base64')]) {
      expect(allLines.filter((l) => l.includes(form.slice(0, 24)))).toEqual([]);
    }
    expect(schemaProblems(allLines)).toEqual([]);
  });

  it('rejects unsigned, badly signed and unknown-key datagrams from the host, and never shows them verified', async () => {
    const before = await exceptions();
    const now = Date.now();
    const forged = beatFrom('forger', 'forged-boot', 1, now);
    const wrongKey = createHmac('sha256', 'not the key').update(key).digest('base64');
    await send(
      Buffer.from('Tue Nov 24 00:03:38 2026\n'), // the original, plain-text time server
      encodeDatagram(forged), // a well-formed beat, unsigned
      encodeDatagram(forged, { keyId: 'k1', key: Buffer.from(wrongKey) }), // right key id, wrong key
      encodeDatagram(forged, { keyId: 'k9', key }), // a key id the client does not have
    );
    const after = await eventually(
      async () => {
        const e = await exceptions();
        expect((e.unsigned ?? 0) - (before.unsigned ?? 0)).toBe(2);
        expect((e.bad_signature ?? 0) - (before.bad_signature ?? 0)).toBe(1);
        expect((e.unknown_key ?? 0) - (before.unknown_key ?? 0)).toBe(1);
        return e;
      },
      10_000,
      200,
    );
    expect(after.not_json ?? 0).toBe(before.not_json ?? 0); // not parsed: rejected before any parsing
    const rejected = (await recent()).filter((d) => d.reason !== null);
    expect(rejected.map((d) => d.reason)).toEqual(
      expect.arrayContaining(['unsigned', 'unsigned', 'bad_signature', 'unknown_key']),
    );
    for (const d of rejected) expect(d).toMatchObject({ verified: false, kind: 'rejected', source: null });
    const senders = await fx.getJson<Array<{ source: string }>>('/api/senders');
    expect(senders.map((s) => s.source)).not.toContain('forger');
    const lines = (await fx.logRecords('client')).filter((l) => l.event === 'exception');
    expect(lines.map((l) => l.reason)).toEqual(
      expect.arrayContaining(['unsigned', 'bad_signature', 'unknown_key']),
    );
  });

  it('reports a replay of a captured signed beat as replay, and judges new boots by the clock', async () => {
    // The capture: a beat the server sent, rebuilt byte for byte from what the
    // client showed (the encoding is canonical and the MAC deterministic).
    const [captured] = (await recent()).filter((d) => d.kind === 'beat' && d.verified);
    if (captured === undefined) throw new Error('no verified beat to capture');
    const copy = encodeDatagram(
      {
        ...beatFrom(
          captured.source as string,
          captured.boot as string,
          captured.seq as number,
          Date.parse(captured.sentAt as string),
        ),
        text: captured.text as string,
      },
      k1,
    );
    expect(copy.length).toBe(captured.bytes);
    const before = await exceptions();
    await send(copy, copy);
    // A boot the client has never seen: accepted when its clock agrees, refused when an hour off.
    const boot = `host-${randomBytes(4).toString('hex')}`;
    await send(
      encodeDatagram(beatFrom('host-signed', boot, 0, Date.now()), k1),
      encodeDatagram(beatFrom('host-skewed', boot, 0, Date.now() - 3_600_000), k1),
    );
    await eventually(
      async () => {
        const e = await exceptions();
        expect((e.replay ?? 0) - (before.replay ?? 0)).toBe(2);
        expect((e.clock_skew ?? 0) - (before.clock_skew ?? 0)).toBe(1);
        const shown = await fx.getJson<ApiDatagram[]>('/api/datagrams?source=host-signed');
        expect(shown).toEqual([expect.objectContaining({ kind: 'beat', verified: true, boot })]);
      },
      10_000,
      200,
    );
    const replays = (await fx.logRecords('client')).filter(
      (l) => l.event === 'exception' && l.reason === 'replay',
    );
    expect(replays.length).toBeGreaterThanOrEqual(2);
    // The server's own beats keep arriving and verifying after the replay.
    await eventually(
      async () => {
        const [newest] = (await recent(20)).filter((d) => d.source === captured.source);
        expect(newest?.seq).toBeGreaterThan(captured.seq as number);
        expect(newest?.verified).toBe(true);
      },
      10_000,
      250,
    );
  });

  it('stops the client with exit code 1 and one config_error line naming AUTH_KEY_FILES when its key is too short', async () => {
    // The same images and override, with the secret taken from a folder holding a short key.
    const files = ['-f', 'docker-compose.yml', '-f', OVERRIDE];
    const outcome = await run(
      'docker',
      ['compose', '-p', fx.project, ...files, 'run', '--rm', '--no-deps', '-T', 'client'],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          ...(process.env.NODE_IMAGE ? { NODE_IMAGE: process.env.NODE_IMAGE } : {}),
          HTTP_HOST_PORT: '127.0.0.1:0',
          UDP_HOST_PORT: '127.0.0.1:0',
          RESTART_POLICY: 'no',
          AUTH_SECRETS_DIR: shortDir,
        },
        timeout: 60_000,
      },
    ).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(outcome.code).toBe(1);
    const lines = outcome.stdout.split('\n').filter((l) => l.trim().length > 0);
    expect(lines).toHaveLength(1);
    expect(parseLogLine(lines[0] as string).ok).toBe(true);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'fatal',
      service: 'client',
      event: 'config_error',
      variable: 'AUTH_KEY_FILES',
      value: 'k1=/run/secrets/beacon-k1',
      expected: 'a key of at least 32 bytes (the file has 12); make one with: openssl rand -base64 48',
    });
  });
});
