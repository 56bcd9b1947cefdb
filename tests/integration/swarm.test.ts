/**
 * deploy/swarm/stack.yml on a real one-node swarm: the beacon and two
 * monitor replicas, each with its own name (MONITOR_NAME from the task slot),
 * its own volume and its own host-mode port, the admin token and webhook URLs
 * as Swarm secrets, and a webhook sink in the stack
 * (tests/fixtures/swarm/one-node.stack.yml, layered with a second `-c`).
 * MONITORS_PER_NODE=2 puts both replicas on the one node; RESTART_DELAY=60s
 * leaves a killed task dead for longer than the test looks.
 *
 * Both monitors hear the beacon and each other; a killed beacon gives one
 * `down` from each monitor with the same incidentKey (what a receiver
 * deduplicates by); a killed monitor is reported `down` by the other, and
 * the survivor, alone on tasks.monitor, has no peer to beat to.
 *
 * The swarm is the engine's: initialised here (and left at the end) only
 * when the engine is not in one yet; an engine that already manages a swarm
 * is used as it is and stays in it. The stack, its volumes and its secrets
 * are removed in every path. No Docker engine: the set-up throws, and every
 * test fails with its error (setUpSuite). Traffic goes only to 127.0.0.1
 * and to the stack's containers (from inside them, through `docker exec`).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { toApiSenderSummary } from '../../services/client/http/api.js';
import { incidentKey, type WebhookBody } from '../../services/client/notify/payload.js';
import { asError } from '../../services/shared/as-error.js';
import { encodedBeat } from '../support/builders.js';
import { containerLogRecords, REPO_ROOT } from '../support/compose.js';
import { setUpSuite } from '../support/suite-setup.js';
import { eventually, sendUdp } from '../support/udp.js';
import type { SinkRequest } from '../support/webhook-sink.js';

const run = promisify(execFile);

// What /api/senders lists (summaries; a sender of its own has its heartbeat bar too, unused here).
type ApiSender = ReturnType<typeof toApiSenderSummary>;
/** A request the sink recorded, its body a webhook notification. */
type Hook = SinkRequest & { body: WebhookBody };

/** The parts of `docker inspect <task>` read here. */
interface SwarmTask {
  ID: string;
  Slot: number;
  DesiredState: string;
  Status: {
    State: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string };
  };
}

/** The parts of `docker inspect <container>` read here. */
interface Container {
  Id: string;
  State: { Running: boolean; Health?: { Status: string } };
  Config: { User: string; Env: string[] };
  HostConfig: {
    ReadonlyRootfs: boolean;
    CapDrop: string[] | null;
    Init: boolean | null;
    Memory: number;
    PidsLimit: number | null;
  };
  Mounts: { Type: string; Name?: string; Destination: string }[];
  NetworkSettings: {
    Networks: Record<string, { IPAddress: string }>;
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
  };
}

const STACK_FILE = 'deploy/swarm/stack.yml';
const ONE_NODE_FILE = 'tests/fixtures/swarm/one-node.stack.yml';
const STACK = `udpsw-${randomBytes(3).toString('hex')}`;
const ADMIN_SECRET = `${STACK}_admin-token`;
const HOOKS_SECRET = `${STACK}_notify-webhooks`;
const ADMIN_TOKEN = randomBytes(24).toString('hex');

/** BEACON_INTERVAL and PEER_INTERVAL. */
const INTERVAL_MS = 1000;
/** LATE_GRACE=auto: max(1 s, interval / 2). */
const GRACE_MS = 1000;
/** DOWN_AFTER_MISSES (default). */
const DOWN_AFTER_MISSES = 3;
/** From the last beat: its successor is due one interval later, then grace, then N - 1 more intervals. */
const DOWN_AFTER_LAST_BEAT_MS = INTERVAL_MS + GRACE_MS + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS;
/**
 * From the kill to the sink holding the `down`, at most: the threshold after
 * the last beat (sent at most one interval before the kill), one liveness
 * tick, the outbox write, one POST over the overlay, slack on 2 cores.
 */
const KILL_TO_HOOK_MAX_MS = DOWN_AFTER_LAST_BEAT_MS + 2500;
const BEACON = 'udp-beacon';
const HOOK_URL = 'http://sink:9000/hook';

const ms = (iso: unknown) => Date.parse(String(iso));

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/**
 * One HTTP request from inside a container, to its own loopback or to a
 * stack service by name: `node -e` (the images have node and no curl).
 * `token: 'secret'` sends the admin token read from the container's secret.
 */
const HTTP_SCRIPT = `
const [method, url, token] = process.argv.slice(1);
const headers = {};
if (token === 'secret') headers.authorization = 'Bearer ' + require('node:fs').readFileSync('/run/secrets/admin-token', 'utf8').trim();
else if (token) headers.authorization = 'Bearer ' + token;
fetch(url, { method, headers, signal: AbortSignal.timeout(5000) }).then(
  async (r) => process.stdout.write(JSON.stringify({ status: r.status, text: await r.text() })),
  (e) => { console.error(String(e.cause ?? e)); process.exit(1); },
);`;

async function httpIn(
  container: string,
  method: string,
  url: string,
  token = '',
): Promise<{ status: number; text: string }> {
  return JSON.parse(await docker('exec', container, 'node', '-e', HTTP_SCRIPT, method, url, token));
}

async function getJsonIn<T>(container: string, url: string): Promise<T> {
  const { status, text } = await httpIn(container, 'GET', url);
  if (status !== 200) throw new Error(`GET ${url} in ${container.slice(0, 12)}: HTTP ${status} ${text}`);
  return JSON.parse(text) as T;
}

async function tasks(service: string): Promise<SwarmTask[]> {
  const ids = (await docker('service', 'ps', '--no-trunc', '-q', `${STACK}_${service}`))
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  return JSON.parse(await docker('inspect', '--type', 'task', ...new Set(ids))) as SwarmTask[];
}

/** The stack's RESTART_DELAY here: long enough that a killed task is not replaced while the tests look. */
const RESTART_DELAY_MS = 60_000;

const running = (list: SwarmTask[]) =>
  list.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');

async function inspectContainer(id: string): Promise<Container> {
  const [info] = JSON.parse(await docker('inspect', '--type', 'container', id)) as Container[];
  if (info === undefined) throw new Error(`docker inspect ${id}: no result`);
  return info;
}

function containerOf(task: SwarmTask): string {
  const id = task.Status.ContainerStatus?.ContainerID;
  if (id === undefined || id === '') throw new Error(`task ${task.ID} (slot ${task.Slot}) has no container`);
  return id;
}

/**
 * Waits until `service` runs `count` tasks whose containers are healthy, and
 * returns them by slot. A task that was rejected or orphaned (a bad mount, a
 * missing image, "no suitable node") ends the wait with its error. A task
 * that failed is replaced by Swarm (the stack's restart_policy, condition
 * `any`), as in production: the engine sometimes fails a start for a moment
 * (moby/moby#48783, "unable to remount dir as readonly" on the secrets'
 * tmpfs). That one is logged, and if the replicas are not healthy by the
 * deadline its error is in the failure; a task failed for any other reason
 * ends the wait with its error.
 */
/** The engine failing a task's start for a moment (moby/moby#48783), the one failure healthyTasks waits out. */
const ENGINE_START_FAILURE = /unable to remount dir as readonly/;

async function healthyTasks(
  service: string,
  count: number,
  // Time for one replacement, which waits the stack's restart delay.
  timeoutMs = RESTART_DELAY_MS + 90_000,
): Promise<SwarmTask[]> {
  const deadline = Date.now() + timeoutMs;
  const failed = new Map<string, string>();
  let seen = '';
  for (;;) {
    const list = await tasks(service);
    const broken = list.find((t) => ['rejected', 'orphaned'].includes(t.Status.State));
    if (broken !== undefined) {
      throw new Error(`${service} slot ${broken.Slot}: ${broken.Status.State}: ${broken.Status.Err ?? ''}`);
    }
    for (const t of list) {
      if (t.Status.State !== 'failed' || failed.has(t.ID)) continue;
      const line = `${service} slot ${t.Slot}: failed: ${t.Status.Err ?? ''}`;
      // Only the engine's own known failure is waited out; any other (the service exiting, say) is ours.
      if (!ENGINE_START_FAILURE.test(t.Status.Err ?? '')) throw new Error(line);
      failed.set(t.ID, line);
      console.log(`${line} (the engine's moby/moby#48783: Swarm replaces it)`);
    }
    const up = running(list);
    const healthy: SwarmTask[] = [];
    for (const t of up) {
      const c = await inspectContainer(containerOf(t)).catch(() => null);
      if (c?.State.Health?.Status === 'healthy') healthy.push(t);
    }
    seen = list.map((t) => `slot ${t.Slot} ${t.DesiredState}/${t.Status.State}`).join(', ');
    if (healthy.length === count) return healthy.sort((a, b) => a.Slot - b.Slot);
    if (Date.now() > deadline)
      throw new Error(
        `${service}: ${count} healthy tasks not there in ${timeoutMs} ms (${seen})${[...failed.values()].map((l) => `; ${l}`).join('')}`,
      );
    await sleep(250);
  }
}

const messageOf = (err: unknown) => asError(err).message.trim();

/** How long the clean-up waits for what the engine removes in the background. */
const CLEANUP_WAIT_MS = 120_000;

/**
 * `docker stack rm`, then a wait until the stack's services, containers and
 * networks are gone: the engine stops the tasks and drops the networks in the
 * background. A `stack rm` that was refused in part (a network "in use by
 * task" while its tasks stop, moby/moby#31068) leaves that part for good, so
 * it is issued again every few seconds until one goes through.
 */
async function removeStack(stack: string, label: string): Promise<void> {
  const deadline = Date.now() + CLEANUP_WAIT_MS;
  let refused = '';
  let nextTry = 0;
  for (;;) {
    if (Date.now() >= nextTry) {
      try {
        await docker('stack', 'rm', stack);
        nextTry = Number.POSITIVE_INFINITY;
        refused = '';
      } catch (err) {
        refused = messageOf(err);
        nextTry = Date.now() + 5000;
        console.info(`docker stack rm ${stack}, refused: ${refused}`);
      }
    }
    const left = (
      await Promise.all([
        docker('service', 'ls', '-q', '--filter', `label=${label}`).then((l) => ['service', l] as const),
        docker('ps', '-aq', '--filter', `label=${label}`).then((l) => ['container', l] as const),
        docker('network', 'ls', '-q', '--filter', `label=${label}`).then((l) => ['network', l] as const),
      ])
    )
      .flatMap(([kind, list]) =>
        list
          .split('\n')
          .filter(Boolean)
          .map((id) => `${kind} ${id}`),
      )
      .join(', ');
    if (left === '') return;
    if (Date.now() > deadline) {
      throw new Error(
        `stack ${stack} not gone after ${CLEANUP_WAIT_MS} ms: ${left}${refused === '' ? '' : `; \`docker stack rm\` last refused: ${refused}`}`,
      );
    }
    await sleep(500);
  }
}

/** The ingress sandbox's endpoint on docker_gwbridge. */
const INGRESS_SANDBOX = 'gateway_ingress-sbox';
/** How long docker_gwbridge's endpoints are waited for. */
const BRIDGE_WAIT_MS = 30_000;
/** After how long the ingress sandbox's endpoint, still there, is taken off by force. */
const STALE_SANDBOX_MS = 10_000;

/**
 * Removes docker_gwbridge, which `swarm init` made and `swarm leave` keeps.
 * The engine refuses while it has endpoints ("has active endpoints"): the
 * ingress sandbox's leaves it in the background after the leave, or not at
 * all until the engine restarts (moby/moby#37018). So its endpoints are
 * waited for, and the ingress sandbox's, still there after a while, is
 * disconnected by force; any other (a container of the stack left behind)
 * fails the clean-up with its name.
 */
async function removeGatewayBridge(): Promise<void> {
  const began = Date.now();
  let disconnected = false;
  for (;;) {
    const found = (await docker('network', 'ls', '-q', '--filter', 'name=^docker_gwbridge$')).trim();
    if (found === '') return;
    const endpoints = (
      await docker(
        'network',
        'inspect',
        '--format',
        '{{range $id, $c := .Containers}}{{$c.Name}} {{end}}',
        found,
      )
    )
      .split(/\s+/)
      .filter(Boolean);
    if (endpoints.length === 0) {
      await docker('network', 'rm', found);
      return;
    }
    const waited = Date.now() - began;
    if (waited > BRIDGE_WAIT_MS) {
      throw new Error(
        `docker_gwbridge still has endpoints after ${BRIDGE_WAIT_MS} ms: ${endpoints.join(', ')}${disconnected ? ` (${INGRESS_SANDBOX} disconnected by force)` : ''}`,
      );
    }
    if (!disconnected && endpoints.includes(INGRESS_SANDBOX) && waited > STALE_SANDBOX_MS) {
      disconnected = true;
      // It may have left on its own meanwhile ("is not connected"): the next look says.
      const outcome = await docker('network', 'disconnect', '--force', found, INGRESS_SANDBOX).then(
        () => 'disconnected',
        (err: unknown) => `not disconnected: ${messageOf(err)}`,
      );
      console.info(
        `docker_gwbridge: ${INGRESS_SANDBOX} still there ${waited} ms after the leave, ${outcome}`,
      );
    }
    await sleep(1000);
  }
}

describe('Docker Swarm (deploy/swarm/stack.yml): two monitors that watch the beacon and each other', () => {
  const timings: Record<string, number> = {};
  const label = `com.docker.stack.namespace=${STACK}`;
  let initialisedSwarm = false;
  let gwbridgeBefore = true;
  let deployed = false;
  const secrets: string[] = [];
  let scratch = '';
  /** Monitor containers by slot (1, 2), the sink's, the beacon's. */
  let monitors: { slot: number; container: string; task: SwarmTask; ip: string }[] = [];
  let sink = '';
  let beacon = '';

  const hooks = async (): Promise<Hook[]> => getJsonIn<Hook[]>(sink, 'http://127.0.0.1:9000/_sink/requests');
  const senders = (container: string) =>
    getJsonIn<ApiSender[]>(container, 'http://127.0.0.1:8080/api/senders');
  const sender = async (container: string, source: string) => {
    const list = await senders(container);
    const found = list.find((s) => s.source === source);
    if (found === undefined)
      throw new Error(`${source} not listed: ${JSON.stringify(list.map((s) => s.source))}`);
    return found;
  };
  const monitor = (slot: number) => {
    const m = monitors.find((x) => x.slot === slot);
    if (m === undefined) throw new Error(`no monitor in slot ${slot}`);
    return m;
  };

  setUpSuite(async () => {
    const began = Date.now();
    // No engine: this throws, and so every test fails.
    const swarm = JSON.parse(await docker('info', '--format', '{{json .Swarm}}')) as {
      LocalNodeState: string;
      ControlAvailable: boolean;
    };
    gwbridgeBefore =
      (await docker('network', 'ls', '-q', '--filter', 'name=^docker_gwbridge$')).trim() !== '';
    if (swarm.LocalNodeState === 'inactive') {
      await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
      initialisedSwarm = true;
    } else if (swarm.LocalNodeState !== 'active' || !swarm.ControlAvailable) {
      throw new Error(
        `this engine is in a swarm but cannot deploy a stack (state ${swarm.LocalNodeState}, manager ${swarm.ControlAvailable})`,
      );
    }
    timings.swarmInit = Date.now() - began;

    // The images the stack names, as a user builds them (NODE_IMAGE: CI's stand-in).
    let t = Date.now();
    await run('docker', ['compose', 'build'], {
      cwd: REPO_ROOT,
      env: process.env,
      maxBuffer: 64 * 1024 * 1024,
    });
    timings.build = Date.now() - t;

    scratch = await mkdtemp(join(tmpdir(), 'udpts-swarm-'));
    const tokenFile = join(scratch, 'admin-token');
    const hooksFile = join(scratch, 'notify-webhooks');
    await writeFile(tokenFile, ADMIN_TOKEN, { mode: 0o600 });
    await writeFile(hooksFile, `${HOOK_URL}\n`, { mode: 0o600 });
    for (const [name, file] of [
      [ADMIN_SECRET, tokenFile],
      [HOOKS_SECRET, hooksFile],
    ] as const) {
      await docker('secret', 'create', name, file);
      secrets.push(name);
    }

    t = Date.now();
    deployed = true;
    await run(
      'docker',
      [
        'stack',
        'deploy',
        '--detach=true',
        '--resolve-image',
        'never',
        '-c',
        STACK_FILE,
        '-c',
        ONE_NODE_FILE,
        STACK,
      ],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          NODE_IMAGE: process.env.NODE_IMAGE ?? 'node:24-bookworm-slim',
          SINK_DIR: join(REPO_ROOT, 'tests', 'fixtures', 'webhook-sink'),
          BEACON_INTERVAL: '1s',
          PEER_INTERVAL: '1s',
          HEALTHCHECK_INTERVAL: '1s',
          MONITORS_PER_NODE: '2',
          RESTART_DELAY: `${RESTART_DELAY_MS / 1000}s`,
          HTTP_PUBLISHED_PORT: '0',
          UDP_PUBLISHED_PORT: '0',
          ADMIN_TOKEN_SECRET: ADMIN_SECRET,
          NOTIFY_WEBHOOKS_SECRET: HOOKS_SECRET,
        },
      },
    );
    const [sinkTask] = await healthyTasks('sink', 1);
    const [beaconTask] = await healthyTasks('beacon', 1);
    const monitorTasks = await healthyTasks('monitor', 2);
    sink = containerOf(sinkTask as SwarmTask);
    beacon = containerOf(beaconTask as SwarmTask);
    monitors = await Promise.all(
      monitorTasks.map(async (task) => {
        const container = containerOf(task);
        const ip = (await inspectContainer(container)).NetworkSettings.Networks[`${STACK}_beacon`]?.IPAddress;
        if (ip === undefined || ip === '')
          throw new Error(`monitor slot ${task.Slot}: no address on ${STACK}_beacon`);
        return { slot: task.Slot, container, task, ip };
      }),
    );
    timings.deployToHealthy = Date.now() - t;
  });

  afterAll(async () => {
    const began = Date.now();
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        errors.push(`${what}: ${messageOf(err)}`);
      }
    };
    if (deployed) {
      await step('the stack', () => removeStack(STACK, label));
      // `stack rm` keeps volumes: the state files of monitor-1 and monitor-2.
      await step('the volumes', async () => {
        const volumes = (await docker('volume', 'ls', '-q', '--filter', `label=${label}`))
          .split('\n')
          .filter(Boolean);
        if (volumes.length > 0) await docker('volume', 'rm', ...volumes);
      });
    }
    for (const name of secrets) await step(`secret ${name}`, () => docker('secret', 'rm', name));
    if (initialisedSwarm) {
      await step('swarm leave', () => docker('swarm', 'leave', '--force'));
      // The swarm made it; leaving does not remove it.
      if (!gwbridgeBefore) await step('docker_gwbridge', removeGatewayBridge);
    }
    if (scratch !== '')
      await step('the scratch directory', () => rm(scratch, { recursive: true, force: true }));
    timings.cleanup = Date.now() - began;
    console.info(`swarm timings (ms): ${JSON.stringify(timings)}`);
    // One line per step that failed, in the message itself (vitest shows an AggregateError's own message only).
    if (errors.length > 0) throw new Error(`swarm cleanup of ${STACK} failed:\n${errors.join('\n')}`);
  });

  it('both replicas hear the beacon and each other (never themselves), each with its name, volume, host port and the secrets; the hardening Swarm supports is on', async () => {
    expect(monitors.map((m) => m.slot)).toEqual([1, 2]);
    for (const { slot, container } of monitors) {
      const self = `monitor-${slot}`;
      const peer = `monitor-${3 - slot}`;
      const list = await eventually(
        async () => {
          const l = await senders(container);
          const state = Object.fromEntries(l.map((s) => [s.source, s.state]));
          expect(state).toEqual({ [BEACON]: 'up', [peer]: 'up' });
          return l;
        },
        30_000,
        250,
      );
      expect(list.map((s) => s.source)).not.toContain(self);
      for (const s of list) expect(s.intervalMs).toBe(INTERVAL_MS);

      const c = await inspectContainer(container);
      expect(c.Config.Env).toContain(`MONITOR_NAME=${self}`);
      // Its own volume, named after the slot (Swarm expands the template per task).
      const data = c.Mounts.find((m) => m.Destination === '/data');
      expect(data).toMatchObject({ Type: 'volume', Name: `${STACK}_monitor-data-${slot}` });
      expect(c.Mounts.find((m) => m.Destination === '/tmp')?.Type).toBe('tmpfs');
      expect(c.Config.User).toBe('node');
      expect(c.HostConfig).toMatchObject({
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        Init: true,
        Memory: 256 * 1024 * 1024,
        PidsLimit: 64,
      });

      // The admin token secret is read: a wrong token is 401 (not 403, "no token set"),
      // the right one gets as far as the silence it names (none: 404).
      const wrong = await httpIn(
        container,
        'DELETE',
        'http://127.0.0.1:8080/api/silences/none',
        'x'.repeat(48),
      );
      expect(wrong.status).toBe(401);
      const right = await httpIn(container, 'DELETE', 'http://127.0.0.1:8080/api/silences/none', 'secret');
      expect(right.status).toBe(404);
    }

    // Host mode: each task's published port is that replica, on 127.0.0.1 of its node.
    const endpoint = JSON.parse(
      await docker('service', 'inspect', '--format', '{{json .Endpoint.Spec}}', `${STACK}_monitor`),
    ) as { Mode: string; Ports: { Protocol: string; TargetPort: number; PublishMode: string }[] };
    expect(endpoint.Mode).toBe('dnsrr');
    expect(endpoint.Ports.map((p) => `${p.TargetPort}/${p.Protocol}:${p.PublishMode}`).sort()).toEqual([
      '5000/udp:host',
      '8080/tcp:host',
    ]);
    // HTTP_PUBLISHED_PORT=0, UDP_PUBLISHED_PORT=0: the engine picked a free port per task.
    const ports = await Promise.all(
      monitors.map(async ({ container }) => {
        const bound = (await inspectContainer(container)).NetworkSettings.Ports;
        const port = (key: string) => Number(bound[key]?.find((b) => b.HostIp === '0.0.0.0')?.HostPort);
        return { http: port('8080/tcp'), udp: port('5000/udp') };
      }),
    );
    for (const [i, port] of ports.entries()) {
      expect(port.http).toBeGreaterThan(0);
      expect(port.udp).toBeGreaterThan(0);
      const res = await fetch(`http://127.0.0.1:${port.http}/api/senders`, {
        signal: AbortSignal.timeout(5000),
      });
      const names = ((await res.json()) as ApiSender[]).map((s) => s.source).sort();
      // Replica 1 lists monitor-2, replica 2 lists monitor-1.
      expect(names).toEqual([`monitor-${2 - i}`, BEACON].sort());
    }
    // A sender outside the swarm beats to one node's UDP port: only that node's monitor hears it.
    // Declared every 10 minutes, it stays up for the rest of the test and notifies nothing.
    const outside = 'outside-sender';
    await sendUdp(ports[0]?.udp as number, [encodedBeat(0, { source: outside, intervalMs: 600_000 })]);
    await eventually(
      async () => expect((await sender(monitor(1).container, outside)).state).toBe('up'),
      10_000,
      200,
    );
    expect((await senders(monitor(2).container)).map((s) => s.source)).not.toContain(outside);

    // Start-up notified nothing: a monitor whose peer starts after it does not call it down.
    expect(await hooks()).toEqual([]);
  });

  it('a killed beacon: each monitor sends its own `down`, both with the same incidentKey, so a receiver can keep one', async () => {
    const killedAt = Date.now();
    await docker('kill', beacon);
    // The beacon may still beat while the kill command runs: its deadlines count from after it returns.
    const killReturnedAt = Date.now();
    const downs = await eventually(
      async () => {
        const found = (await hooks()).filter((h) => h.body.event === 'down' && h.body.source === BEACON);
        expect(found).toHaveLength(2);
        return found;
      },
      20_000,
      200,
    );
    timings.beaconKillToBothHooks = Math.max(...downs.map((h) => h.at)) - killedAt;
    for (const h of downs) expect(h.at - killReturnedAt).toBeLessThanOrEqual(KILL_TO_HOOK_MAX_MS);
    expect(downs.map((h) => h.body.monitor).sort()).toEqual(['monitor-1', 'monitor-2']);
    expect(new Set(downs.map((h) => h.body.id)).size).toBe(2);
    for (const h of downs) {
      expect(h.path).toBe('/hook');
      expect(h.headers['idempotency-key']).toBe(h.body.id);
    }
    // The key is the incident's (source, boot, last seq), the same from both monitors.
    const views = await Promise.all(monitors.map((m) => sender(m.container, BEACON)));
    for (const v of views) expect(v).toMatchObject({ state: 'down', reason: `missed_${DOWN_AFTER_MISSES}` });
    const [v1, v2] = views as [ApiSender, ApiSender];
    expect([v2.boot, v2.lastSeq]).toEqual([v1.boot, v1.lastSeq]);
    const key = incidentKey(BEACON, v1.boot, v1.lastSeq, 'down');
    expect(downs.map((h) => h.body.incidentKey)).toEqual([key, key]);
    // Not replaced yet (RESTART_DELAY=60s): nothing came back up.
    expect(running(await tasks('beacon'))).toEqual([]);
  });

  it('a killed monitor: the other reports it `down` through the webhook, once, dated at its threshold', async () => {
    const dead = monitor(2);
    const survivor = monitor(1);
    const deadName = 'monitor-2';
    const before = (await hooks()).length;

    const killedAt = Date.now();
    await docker('kill', dead.container);
    // The dead monitor may still beat while the kill command runs: read after it returns.
    const killReturnedAt = Date.now();
    const hook = await eventually(
      async () => {
        const found = (await hooks()).filter((h) => h.body.source === deadName);
        expect(found.map((h) => h.body.event)).toEqual(['down']);
        return found[0] as Hook;
      },
      20_000,
      200,
    );
    timings.monitorKillToHook = hook.at - killedAt;
    expect(hook.at - killReturnedAt).toBeLessThanOrEqual(KILL_TO_HOOK_MAX_MS);
    expect(hook.path).toBe('/hook');
    expect(hook.headers['idempotency-key']).toBe(hook.body.id);
    expect(hook.body).toMatchObject({ event: 'down', source: deadName, monitor: 'monitor-1', to: 'down' });
    expect(hook.body.text).toContain(deadName);

    const seen = await sender(survivor.container, deadName);
    expect(seen).toMatchObject({ state: 'down', reason: `missed_${DOWN_AFTER_MISSES}` });
    // Expected: the last beat's send time (its arrival less its delay) + the least delay seen of its boot
    // + the interval: no earlier than with the least delay of all, no later than with its own. (Not
    // "within 100 ms of lastSeen + interval": on a busy machine the last beat was read 103 ms late.)
    const lastSentMs = ms(seen.lastSeen) - seen.delay.lastMs;
    expect(ms(seen.expectedAt)).toBeGreaterThanOrEqual(lastSentMs + seen.delay.minMs + INTERVAL_MS);
    expect(ms(seen.expectedAt)).toBeLessThanOrEqual(lastSentMs + seen.delay.lastMs + INTERVAL_MS);
    const downAt = ms(seen.expectedAt) + GRACE_MS + (DOWN_AFTER_MISSES - 1) * INTERVAL_MS;
    expect(ms(seen.stateSince)).toBe(downAt);
    expect(ms(hook.body.at)).toBe(downAt);
    expect(ms(seen.lastSeen)).toBeLessThanOrEqual(killReturnedAt);
    expect(hook.body.incidentKey).toBe(incidentKey(deadName, seen.boot, seen.lastSeq, 'down'));

    // One new notification in all: the dead monitor sends nothing, the survivor only this.
    expect((await hooks()).length).toBe(before + 1);
    // Not replaced yet (RESTART_DELAY=60s): one monitor task runs, slot 1.
    const left = running(await tasks('monitor'));
    expect(left.map((t) => t.Slot)).toEqual([1]);
    expect((await tasks('monitor')).find((t) => t.ID === dead.task.ID)?.Status.State).toBe('failed');
  });

  it('the survivor, the only address tasks.monitor still has, has no peer: no `dns_error` (the name resolved) and no beats to the dead address', async () => {
    const survivor = monitor(1);
    const dead = monitor(2);
    const lines = await containerLogRecords(survivor.container);
    const downLine = lines.find((l) => l.event === 'state' && l.source === 'monitor-2' && l.to === 'down');
    expect(downLine, 'the survivor logged monitor-2 down').toBeDefined();
    const downLoggedAt = ms(downLine?.time);
    // Before the kill its peer beats went to the dead replica's address (each `send` is logged).
    expect(
      lines.some((l) => l.event === 'send' && l.target === 'tasks.monitor:5000' && l.address === dead.ip),
    ).toBe(true);

    // The name resolves, to the survivor alone: Swarm's DNS dropped the dead task.
    const answer = JSON.parse(
      await docker(
        'exec',
        survivor.container,
        'node',
        '-e',
        "require('node:dns').promises.lookup('tasks.monitor', { all: true }).then((a) => console.log(JSON.stringify(a.map((x) => x.address))))",
      ),
    ) as string[];
    expect(answer).toEqual([survivor.ip]);

    // Beats go on for a few intervals more.
    await sleep(3 * INTERVAL_MS);
    const after = (await containerLogRecords(survivor.container)).filter((l) => ms(l.time) > downLoggedAt);
    const dnsErrors = after.filter((l) => l.event === 'exception' && l.reason === 'dns_error');
    const toDead = after.filter((l) => l.event === 'send' && l.address === dead.ip);
    expect(
      {
        dnsErrors: dnsErrors.length,
        firstDnsError: dnsErrors[0]?.msg,
        beatsToDeadAddress: toDead.length,
      },
      'an answer naming only this monitor is no peer: nothing to send, and no DNS error (the lookup succeeded)',
    ).toEqual({ dnsErrors: 0, firstDnsError: undefined, beatsToDeadAddress: 0 });
  });
});
