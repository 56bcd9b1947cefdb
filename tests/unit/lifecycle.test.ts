import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLogLine } from '../../services/shared/log-schema.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * The real beacon process (services/server/main.ts) with `env` over a
 * beat every 100 ms, `args` before its entry point; its stdout as it comes,
 * and its exit code once it closes.
 */
function beaconProcess(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args, 'services/server/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HTTP_PORT: '0',
      BEACON_INTERVAL: '100ms',
      BEACON_SOURCE: 'lifecycle',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const closed = new Promise<number | null>((done) => child.once('close', (c) => done(c)));
  const lines = () => out.split('\n').filter((l) => l !== '');
  return { child, closed, lines };
}

/**
 * A module loaded with the beacon that runs `statement` (a throw, a rejection) once the process has
 * hooked fatal errors (close-with-grace's listener, installed last in its start), not at a guessed
 * time: 400 ms after loading was, on a busy machine, sometimes before the start was done.
 */
const throwing = (statement: string) =>
  `const t = setInterval(() => { if (process.listenerCount("uncaughtException") === 0) return; clearInterval(t); ${statement} }, 10)`;

/**
 * The beacon beating to a UDP socket here, ended by `end`: a SIGTERM (a
 * planned stop), or a fatal error thrown inside it (by `module`, loaded with
 * it; by default one that throws an Error). The kinds of datagram it sent,
 * its log lines (each checked against the schema), and its exit code.
 */
async function beaconEndedBy(
  end: 'sigterm' | 'fatal',
  module: string | null = end === 'fatal' ? throwing('throw new Error("boom")') : null,
  env: Record<string, string> = {},
): Promise<{ kinds: string[]; lines: Array<Record<string, unknown>>; code: number | null }> {
  const sink = createSocket('udp4');
  const kinds: string[] = [];
  sink.on('message', (m) => kinds.push((JSON.parse(m.toString()) as { kind: string }).kind));
  await new Promise<void>((done) => sink.bind(0, '127.0.0.1', done));
  const beacon = beaconProcess(
    { BEACON_TARGETS: `127.0.0.1:${sink.address().port}`, ...env },
    module === null ? [] : ['--import', `data:text/javascript,${module}`],
  );
  if (end === 'sigterm') {
    while (kinds.length < 3) await new Promise((r) => setTimeout(r, 20));
    beacon.child.kill('SIGTERM');
  }
  const code = await beacon.closed;
  await new Promise((r) => setTimeout(r, 100)); // the last datagrams, if any, to arrive
  sink.close();
  const lines = beacon.lines();
  for (const l of lines) expect(parseLogLine(l).ok).toBe(true);
  return { kinds, lines: lines.map((l) => JSON.parse(l) as Record<string, unknown>), code };
}

// How a process ends (shared/lifecycle.ts): a planned stop says bye, a crash does not.
describe('a service process ending', () => {
  it('on SIGTERM: stops, says bye to its targets, logs stopped and exits 0', async () => {
    const { kinds, lines, code } = await beaconEndedBy('sigterm');
    expect(code).toBe(0);
    expect(kinds.at(-1)).toBe('bye');
    expect(lines.filter((l) => l.event === 'stop' || l.event === 'stopped').map((l) => l.event)).toEqual([
      'stop',
      'stopped',
    ]);
  });

  it('on a fatal error: stops without a bye (a crash must look like the death it is), logs no stopped, exits 1', async () => {
    const { kinds, lines, code } = await beaconEndedBy('fatal');
    expect(code).toBe(1);
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds).not.toContain('bye');
    expect(
      lines
        .filter((l) => ['fatal', 'stop', 'stopped'].includes(String(l.event)))
        .map((l) => [l.event, l.reason]),
    ).toEqual([
      ['fatal', undefined],
      ['stop', 'fatal'],
    ]);
  });

  it.each([
    ['a string', 'throw "disk full"', "'disk full'"],
    ['undefined', 'throw undefined', 'undefined'],
    ['a rejection with no value', 'Promise.reject()', 'undefined'],
  ])(
    'on a fatal error that is %s, not an Error: the same, its fatal line saying what was thrown',
    async (_, statement, shown) => {
      const { kinds, lines, code } = await beaconEndedBy('fatal', throwing(statement));
      expect(code).toBe(1);
      expect(kinds).not.toContain('bye');
      expect(lines.filter((l) => ['fatal', 'stop', 'stopped'].includes(String(l.event)))).toMatchObject([
        { event: 'fatal', err: { type: 'NonError', message: expect.stringContaining(`thrown: ${shown}`) } },
        { event: 'stop', reason: 'fatal' },
      ]);
    },
  );

  it('on a stop that fails: its fatal line last, no stopped, exit 1', async () => {
    const stuck =
      'import dgram from "node:dgram"; dgram.Socket.prototype.close = () => { throw new Error("socket would not close") }';
    const { lines, code } = await beaconEndedBy('sigterm', stuck);
    expect(code).toBe(1);
    expect(lines.filter((l) => l.event === 'stopped')).toEqual([]);
    expect(lines.at(-1)).toMatchObject({
      level: 'fatal',
      event: 'fatal',
      msg: 'stop failed',
      err: { type: 'Error', message: 'socket would not close' },
    });
  });

  it('on a stop that takes longer than STOP_TIMEOUT: stop timed out, at that limit, exit 1', async () => {
    const hung = 'import dgram from "node:dgram"; dgram.Socket.prototype.close = () => {}';
    const { lines, code } = await beaconEndedBy('sigterm', hung, { STOP_TIMEOUT: '300ms' });
    expect(code).toBe(1);
    expect(lines.filter((l) => l.event === 'stopped')).toEqual([]);
    expect(lines.filter((l) => l.event === 'stop').at(-1)).toMatchObject({
      level: 'error',
      reason: 'timeout',
      timeoutMs: 300,
    });
  });

  it('on a failed start (its HTTP port taken): its lines in order, last one config_error naming HTTP_PORT, exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '0.0.0.0', done));
    const port = (taken.address() as { port: number }).port;
    const beacon = beaconProcess({ HTTP_PORT: String(port), BEACON_TARGETS: '127.0.0.1:9' });
    const code = await beacon.closed;
    taken.close();
    for (const l of beacon.lines()) expect(parseLogLine(l).ok).toBe(true);
    const lines = beacon.lines().map((l) => JSON.parse(l) as Record<string, unknown> & { time: string });
    expect(code).toBe(1);
    expect(lines[0]?.event).toBe('start');
    expect(lines.at(-1)).toMatchObject({
      level: 'fatal',
      event: 'config_error',
      variable: 'HTTP_PORT',
      value: String(port),
      expected: expect.stringContaining('EADDRINUSE'),
    });
    expect(lines.at(-1)).not.toHaveProperty('err');
    const times = lines.map((l) => Date.parse(l.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});
