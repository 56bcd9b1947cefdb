/**
 * One compose project per scenario, from the real docker-compose.yml: a
 * random project name (udpts-*), an ephemeral host port, the base image from
 * NODE_IMAGE (CI's local stand-in), and `down` in every path. No Docker
 * engine means `up()` throws and the test fails: integration tests never skip.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment, Wait } from 'testcontainers';
import { type LogRecord, validLogRecords } from './log-lines.js';

export type { LogRecord } from './log-lines.js';

const run = promisify(execFile);
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const COMPOSE_FILE = 'docker-compose.yml';

/**
 * The client's container as docker-compose.yml runs it: `mem_limit: 256m`,
 * in which Node 24 sizes its whole heap at 259 MiB (`heap_size_limit`: V8's
 * floor for up to 512 MiB of memory; 4288 MiB on the 24 GiB host).
 * hardening.test.ts checks both on the running container.
 */
export const CLIENT_CONTAINER = { memoryBytes: 256 * 1024 * 1024, heapLimitMiB: 259 } as const;

/** Raw log lines (stdout and stderr) a container has written so far. */
export async function containerLogLines(container: string): Promise<string[]> {
  const { stdout, stderr } = await run('docker', ['logs', container], { maxBuffer: 256 * 1024 * 1024 });
  return (stdout + stderr).split('\n').filter((l) => l.length > 0);
}

/** A container's log lines parsed with the log schema (a line that breaks it fails the test). */
export async function containerLogRecords(container: string): Promise<LogRecord[]> {
  return validLogRecords(await containerLogLines(container));
}

/** The parts of `docker inspect <container>` the tests read. */
export interface ContainerInspect {
  Id: string;
  Image: string;
  Name: string;
  RestartCount: number;
  State: {
    Status: string;
    Running: boolean;
    Pid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: string; FailingStreak: number; Log: { ExitCode: number }[] };
  };
  Config: {
    Hostname: string;
    User: string;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    Healthcheck?: { Test: string[]; Interval?: number };
  };
  HostConfig: {
    ReadonlyRootfs: boolean;
    Tmpfs: Record<string, string> | null;
    CapAdd: string[] | null;
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    Memory: number;
    PidsLimit: number | null;
    Init: boolean | null;
    Privileged: boolean;
    RestartPolicy: { Name: string };
    LogConfig: { Type: string; Config: Record<string, string> };
  };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

export interface ComposeFixture extends AsyncDisposable {
  project: string;
  env: StartedDockerComposeEnvironment;
  /** The project's network (`<project>_beacon`). */
  network: string;
  /**
   * http://127.0.0.1:<ephemeral port> of the client's status page. The port
   * changes when the client container is restarted: call refreshClientUrl().
   */
  readonly clientUrl: string;
  /** Re-reads the client's published port (after a container restart) and returns the new clientUrl. */
  refreshClientUrl(): Promise<string>;
  /**
   * The environment under which a plain `docker compose ...` run in REPO_ROOT
   * (a README recipe, as a user types it) addresses this project: its name,
   * its compose files, and the variables it was brought up with.
   */
  shellEnv: Record<string, string>;
  /** `docker compose -p <project> <args>` against the real file; stdout. */
  compose(...args: string[]): Promise<string>;
  docker(...args: string[]): Promise<string>;
  /** Container id of a service replica (1-based). */
  containerId(service: string, index?: number): Promise<string>;
  /** Raw log lines (stdout and stderr) of a service replica. */
  logLines(service: string, index?: number): Promise<string[]>;
  /** Log lines of a replica parsed with the log schema (a line that breaks it fails the test). */
  logRecords(service: string, index?: number): Promise<LogRecord[]>;
  /** The replica's address on the project's network (a bridge address this run created); '' when detached. */
  ipAddress(service: string, index?: number): Promise<string>;
  /** `docker inspect` of a replica. */
  inspect(service: string, index?: number): Promise<ContainerInspect>;
  /** `docker exec` in a running replica; stdout, rejects on a non-zero exit (the error carries stdout/stderr). */
  exec(service: string, command: string[], options?: { index?: number; user?: string }): Promise<string>;
  /** Polls the replica's Docker health status (every 200 ms, at most timeoutMs) until `healthy`. */
  waitHealthy(service: string, index?: number, timeoutMs?: number): Promise<void>;
  getJson<T = unknown>(path: string): Promise<T>;
  down(): Promise<void>;
}

export interface ComposeOptions {
  environment?: Record<string, string>;
  /** Services to wait for (health check); default both. */
  waitFor?: string[];
  /** Extra compose files layered on the real one. */
  overrides?: string[];
}

export async function upCompose(options: ComposeOptions = {}): Promise<ComposeFixture> {
  const project = `udpts-${randomBytes(4).toString('hex')}`;
  const files = [COMPOSE_FILE, ...(options.overrides ?? [])];
  const environment: Record<string, string> = {
    HTTP_HOST_PORT: '127.0.0.1:0',
    UDP_HOST_PORT: '127.0.0.1:0',
    HEALTHCHECK_INTERVAL: '1s',
    // What a test kills stays dead: it judges what is left.
    RESTART_POLICY: 'no',
    ...(process.env.NODE_IMAGE ? { NODE_IMAGE: process.env.NODE_IMAGE } : {}),
    ...options.environment,
  };
  const fileArgs = files.flatMap((f) => ['-f', f]);
  const compose = async (...args: string[]) =>
    (
      await run('docker', ['compose', '-p', project, ...fileArgs, ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...environment },
        maxBuffer: 64 * 1024 * 1024,
      })
    ).stdout;
  const docker = async (...args: string[]) =>
    (await run('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;

  let builder = new DockerComposeEnvironment(REPO_ROOT, files)
    .withBuild()
    .withProjectName(project)
    .withEnvironment(environment)
    .withStartupTimeout(240_000);
  for (const service of options.waitFor ?? ['server', 'client']) {
    builder = builder.withWaitStrategy(`${service}-1`, Wait.forHealthCheck());
  }
  let env: StartedDockerComposeEnvironment;
  try {
    env = await builder.up();
  } catch (err) {
    await compose('down', '--volumes', '--timeout', '2').catch(() => undefined);
    throw err;
  }

  const containerId = async (service: string, index = 1) => {
    const ids = (await compose('ps', '-a', '-q', service)).trim().split('\n').filter(Boolean);
    const names = await Promise.all(ids.map((id) => docker('inspect', '-f', '{{.Name}}', id)));
    const wanted = names.findIndex((n) => n.trim().endsWith(`-${service}-${index}`));
    if (wanted < 0) throw new Error(`no container ${service}-${index} in ${project}`);
    return ids[wanted] as string;
  };
  const inspect = async (service: string, index = 1) => {
    const [info] = JSON.parse(
      await docker('inspect', await containerId(service, index)),
    ) as ContainerInspect[];
    if (info === undefined) throw new Error(`docker inspect ${service}-${index}: no result`);
    return info;
  };
  const logLines = async (service: string, index = 1) => containerLogLines(await containerId(service, index));
  let clientUrl = '';
  const refreshClientUrl = async () => {
    const clientPort = (await compose('port', 'client', '8080')).trim().split(':').pop();
    clientUrl = `http://127.0.0.1:${clientPort}`;
    return clientUrl;
  };
  try {
    await refreshClientUrl();
  } catch (err) {
    await compose('down', '--volumes', '--timeout', '2').catch(() => undefined);
    throw err;
  }
  let downed = false;
  const down = async () => {
    if (downed) return;
    downed = true;
    await compose('down', '--volumes', '--timeout', '3');
  };
  return {
    project,
    env,
    network: `${project}_beacon`,
    shellEnv: { ...environment, COMPOSE_PROJECT_NAME: project, COMPOSE_FILE: files.join(':') },
    get clientUrl() {
      return clientUrl;
    },
    refreshClientUrl,
    compose,
    docker,
    containerId,
    logLines,
    async logRecords(service, index = 1) {
      return containerLogRecords(await containerId(service, index));
    },
    async ipAddress(service, index = 1) {
      const id = await containerId(service, index);
      return (
        await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id)
      ).trim();
    },
    inspect,
    async exec(service, command, { index = 1, user } = {}) {
      const id = await containerId(service, index);
      return docker('exec', ...(user === undefined ? [] : ['--user', user]), id, ...command);
    },
    async waitHealthy(service, index = 1, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = (await inspect(service, index)).State.Health?.Status ?? 'none';
        if (status === 'healthy') return;
        if (Date.now() > deadline) {
          throw new Error(`${service}-${index} not healthy after ${timeoutMs} ms (status ${status})`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async getJson<T>(path: string) {
      const res = await fetch(clientUrl + path, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
      return (await res.json()) as T;
    },
    down,
    [Symbol.asyncDispose]: down,
  };
}
