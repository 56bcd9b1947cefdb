/**
 * Issue 5, hardening, asserted on the running stack: what `docker inspect`
 * reports for each container and its image, and what the processes see from
 * inside (user, capabilities, no-new-privileges, read-only root, no npm),
 * and that the server's image carries only the packages the server imports.
 * One compose project for every check; nothing here changes its state.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SOCKET_THREAD_NAME } from '../../services/client/ingest/receiver.js';
import { WRITER_NICE, WRITER_THREAD_NAME } from '../../services/client/store/state-writer.js';
import { POOL_THREAD_NAME, V8_HELPER_THREAD_NAME } from '../../services/shared/thread-priority.js';
import { CLIENT_CONTAINER, type ComposeFixture, REPO_ROOT, upCompose } from '../support/compose.js';
import { setUpSuite } from '../support/suite-setup.js';
import { PID_BY_COMMAND_LINE, type ThreadNice, threadsScript } from '../support/threads-script.js';

const SERVICES = [
  { service: 'server', memory: 128 * 1024 * 1024, main: 'dist/server/main.js' },
  { service: 'client', memory: CLIENT_CONTAINER.memoryBytes, main: 'dist/client/main.js' },
] as const;

/** Run inside a container: every process's parent, uid, gid, capability sets, no_new_privs and command line. */
const PROCESSES_SCRIPT = `
const fs = require('node:fs');
const out = [];
for (const pid of fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
  try {
    const status = fs.readFileSync('/proc/' + pid + '/status', 'utf8');
    const field = (name) => (status.match(new RegExp('^' + name + ':\\\\s*(.*)$', 'm')) || [])[1];
    const cmd = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').split('\\0').filter(Boolean).join(' ');
    out.push({ pid: Number(pid), ppid: field('PPid'), cmd, uid: field('Uid'), gid: field('Gid'), capEff: field('CapEff'),
      capPrm: field('CapPrm'), capBnd: field('CapBnd'), noNewPrivs: field('NoNewPrivs') });
  } catch {}
}
console.log(JSON.stringify(out));
`;

/** Run inside a container: try writes; the error code of each (or 'ok'). */
const WRITES_SCRIPT = `
const fs = require('node:fs');
const result = {};
for (const path of ['/probe', '/app/probe', '/etc/probe', '/tmp/probe']) {
  try { fs.writeFileSync(path, 'x'); fs.rmSync(path); result[path] = 'ok'; }
  catch (err) { result[path] = err.code; }
}
console.log(JSON.stringify(result));
`;

/** Given to compose: the client's main thread runs at this nice value, below its socket thread. */
const MAIN_THREAD_NICE = 5;

/** Run inside a container: the threads of the process whose command line is argv[1], main first: name, nice. */
const THREADS_SCRIPT = threadsScript(PID_BY_COMMAND_LINE);

/** Run inside a container: name@version of every package under /app/node_modules, nested ones included. */
const PACKAGES_SCRIPT = `
const fs = require('node:fs');
const found = [];
const walk = (dir) => {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? fs.readdirSync(dir + '/' + entry).map((e) => entry + '/' + e) : [entry];
    for (const d of dirs) {
      const pkg = JSON.parse(fs.readFileSync(dir + '/' + d + '/package.json', 'utf8'));
      found.push(pkg.name + '@' + pkg.version);
      walk(dir + '/' + d + '/node_modules');
    }
  }
};
walk('/app/node_modules');
console.log(JSON.stringify(found.sort()));
`;

/**
 * The packages the server's code loads at run time: every bare specifier
 * imported by services/server and by the modules it reaches through relative
 * imports (services/shared), Node built-ins and type-only imports left out.
 */
async function serverPackages(): Promise<string[]> {
  const importPattern =
    /^\s*(?:import|export)\s+(type\s+)?(?:[\w\s{},*$]+?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  const serverDir = join(REPO_ROOT, 'services', 'server');
  const queue = (await readdir(serverDir, { recursive: true }))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(serverDir, f));
  const seen = new Set<string>();
  const packages = new Set<string>();
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of (await readFile(file, 'utf8')).matchAll(importPattern)) {
      const specifier = (m[2] ?? m[3]) as string;
      if (specifier.startsWith('.')) {
        queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      } else if (!specifier.startsWith('node:') && m[1] === undefined) {
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string));
      }
    }
  }
  return [...packages].sort();
}

interface LockEntry {
  name?: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * name@version of the given packages and everything they depend on, as
 * package-lock.json resolves them (Node's lookup: the nearest node_modules
 * up the tree); required peer dependencies count, as npm installs them.
 * Optional dependencies are left out: none of the server's packages has any
 * (one installed would show in the image's list as a package too many).
 */
async function lockedClosure(roots: string[]): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  /** The lock path of `name` as required from the package at lock path `from` ('' for the project). */
  const locate = (from: string, name: string): string => {
    for (let base = from; ; ) {
      const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (lock.packages[candidate] !== undefined) return candidate;
      if (base === '')
        throw new Error(`${name}, needed by ${from || 'the server'}, is not in package-lock.json`);
      const up = base.lastIndexOf('/node_modules/');
      base = up < 0 ? '' : base.slice(0, up);
    }
  };
  const found = new Set<string>();
  const queue = roots.map((name) => locate('', name));
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    if (found.has(path)) continue;
    found.add(path);
    const entry = lock.packages[path] as LockEntry;
    const needs = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !entry.peerDependenciesMeta?.[n]?.optional),
    ];
    for (const name of needs) queue.push(locate(path, name));
  }
  return [...found]
    .map((path) => {
      const entry = lock.packages[path] as LockEntry;
      return `${entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version}`;
    })
    .sort();
}

interface ProcessInfo {
  pid: number;
  ppid: string;
  cmd: string;
  uid: string;
  gid: string;
  capEff: string;
  capPrm: string;
  capBnd: string;
  noNewPrivs: string;
}

describe('hardening (issue 5): docker inspect and the view from inside', () => {
  let fx: ComposeFixture;
  setUpSuite(async () => {
    fx = await upCompose({
      environment: { BEACON_INTERVAL: '1s', MAIN_THREAD_NICE: String(MAIN_THREAD_NICE) },
    });
  });
  afterAll(async () => {
    await fx?.down();
  });

  it.each(SERVICES)('$service: container settings (docker inspect)', async ({ service, memory }) => {
    const c = await fx.inspect(service);
    expect(c.Config.User).toBe('node');
    expect(c.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': expect.stringContaining('size=16m') },
      CapDrop: ['ALL'],
      CapAdd: null,
      Privileged: false,
      Memory: memory,
      PidsLimit: 64,
      Init: true,
      // As the tests run it (RESTART_POLICY=no); the default is checked below.
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    });
    expect(c.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(c.Config.Healthcheck?.Test).toEqual(['CMD', 'node', `dist/${service}/healthcheck.js`]);
    expect(c.State.Health?.Status).toBe('healthy');
    expect(c.State.Health?.Log.at(-1)?.ExitCode).toBe(0);
  });

  it('client: Node sizes its heap in the container as the flood test runs it (CLIENT_CONTAINER)', async () => {
    // A process exec'd in the container: the same image, the same Node and the same memory limit as the client's.
    const limit = await fx.exec('client', [
      'node',
      '-e',
      "process.stdout.write(String(require('node:v8').getHeapStatistics().heap_size_limit))",
    ]);
    expect(Number(limit) / 2 ** 20).toBe(CLIENT_CONTAINER.heapLimitMiB);
  });

  it.each(SERVICES)('$service: image settings (docker image inspect)', async ({ service, main }) => {
    const c = await fx.inspect(service);
    const [image] = JSON.parse(await fx.docker('image', 'inspect', c.Image)) as Array<{
      Config: {
        User: string;
        Env: string[];
        Cmd: string[];
        Entrypoint: string[] | null;
        Healthcheck?: { Test: string[] };
        ExposedPorts: Record<string, object>;
      };
    }>;
    expect(image?.Config).toMatchObject({
      User: 'node',
      Cmd: ['node', main],
      Healthcheck: { Test: ['CMD', 'node', `dist/${service}/healthcheck.js`] },
    });
    expect(image?.Config.Entrypoint ?? []).toEqual([]);
    expect(image?.Config.Env).toContain('NODE_ENV=production');
    expect(Object.keys(image?.Config.ExposedPorts ?? {})).toContain('5000/udp');
  });

  it.each(SERVICES)(
    '$service: from inside, the service runs as uid 1000 with no capabilities, under docker-init',
    async ({ service, main }) => {
      const processes = JSON.parse(await fx.exec(service, ['node', '-e', PROCESSES_SCRIPT])) as ProcessInfo[];
      // The container's own two processes. Processes that `docker exec` starts
      // (health checks, this probe) are left out: one caught while runc is
      // still setting it up shows runc's command line and credentials.
      const init = processes.find((p) => p.pid === 1);
      const mains = processes.filter((p) => p.cmd === `node ${main}`);
      expect(init?.cmd).toBe(`/sbin/docker-init -- node ${main}`);
      expect(mains).toHaveLength(1);
      expect(mains[0]?.ppid).toBe('1');
      for (const p of [init, ...mains]) {
        expect(p).toMatchObject({
          uid: '1000\t1000\t1000\t1000',
          gid: '1000\t1000\t1000\t1000',
          capEff: '0000000000000000',
          capPrm: '0000000000000000',
          capBnd: '0000000000000000',
          noNewPrivs: '1',
        });
      }
    },
  );

  it('client: from inside, the socket thread reads at the priority the process started with, the main thread (with V8 helper threads) and the state writer below it', async () => {
    const threads = JSON.parse(
      await fx.exec('client', ['node', '-e', THREADS_SCRIPT, 'node dist/client/main.js']),
    ) as ThreadNice[];
    // Compose passes MAIN_THREAD_NICE through (0 by default).
    expect(threads[0]).toMatchObject({ main: true, nice: MAIN_THREAD_NICE });
    expect(threads.filter((t) => t.name.startsWith(SOCKET_THREAD_NAME))).toEqual([
      { main: false, name: `${SOCKET_THREAD_NAME}-0`, nice: 0 },
    ]);
    expect(threads.filter((t) => t.name === WRITER_THREAD_NAME)).toEqual([
      { main: false, name: WRITER_THREAD_NAME, nice: WRITER_NICE },
    ]);
    // V8's helper threads collect the main thread's heap: they go down with it.
    const helpers = threads.filter((t) => t.name === V8_HELPER_THREAD_NAME);
    expect(helpers.length).toBeGreaterThan(0);
    expect(helpers.filter((t) => t.nice !== MAIN_THREAD_NICE)).toEqual([]);
    // Every other thread (libuv's pool that writes the log) was started before the main thread lowered itself.
    const others = threads
      .slice(1)
      .filter((t) => t.name !== WRITER_THREAD_NAME && t.name !== V8_HELPER_THREAD_NAME);
    expect(others.map((t) => t.name)).toContain(POOL_THREAD_NAME);
    expect(others.filter((t) => t.nice !== 0)).toEqual([]);
  });

  it.each(SERVICES)(
    '$service: from inside, the root file system is read-only and npm is absent',
    async ({ service }) => {
      // As the image's user and as root: the file system refuses either (EROFS), /tmp is a tmpfs.
      const expected = {
        '/probe': 'EROFS',
        '/app/probe': 'EROFS',
        '/etc/probe': 'EROFS',
        '/tmp/probe': 'ok',
      };
      expect(JSON.parse(await fx.exec(service, ['node', '-e', WRITES_SCRIPT]))).toEqual(expected);
      expect(JSON.parse(await fx.exec(service, ['node', '-e', WRITES_SCRIPT], { user: '0' }))).toEqual(
        expected,
      );

      const npm = await fx.exec(service, [
        'node',
        '-e',
        `const fs = require('node:fs');
       const paths = ['/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/bin/corepack',
         '/usr/local/lib/node_modules/npm', '/usr/local/lib/node_modules/corepack'];
       const onPath = (process.env.PATH || '').split(':').flatMap((d) => ['npm', 'npx', 'yarn'].map((b) => d + '/' + b));
       console.log(JSON.stringify([...paths, ...onPath].filter((p) => fs.existsSync(p))));`,
      ]);
      expect(JSON.parse(npm)).toEqual([]);
      // Not found, rather than failing for another reason (a container not running would fail too): the
      // runtime says so, with exit code 126 (runc on docker exec's stdout; others on stderr).
      const refusal = (await fx.exec(service, ['npm', '--version']).then(
        () => null,
        (err: unknown) => err,
      )) as { code?: unknown; stdout?: string; stderr?: string } | null;
      expect(refusal?.code).toBe(126);
      expect(`${refusal?.stdout ?? ''}${refusal?.stderr ?? ''}`).toMatch(
        /"?npm"?: executable file not found|no such file/i,
      );
    },
  );

  it('server: the image holds the packages the server imports and what they need, nothing else (no fastify)', async () => {
    const imported = await serverPackages();
    expect(imported).toEqual(expect.arrayContaining(['pino', 'zod']));
    const installed = JSON.parse(await fx.exec('server', ['node', '-e', PACKAGES_SCRIPT])) as string[];
    const names = installed.map((p) => p.slice(0, p.lastIndexOf('@')));
    // The client's own dependencies stay out of the server's image.
    for (const clientOnly of ['fastify', 'yaml']) expect(names).not.toContain(clientOnly);
    expect(names.filter((n) => n.startsWith('@fastify/'))).toEqual([]);
    expect(installed).toEqual(await lockedClosure(imported));
  });

  it('both services restart when they die, unless stopped by hand, as compose reads the file with no RESTART_POLICY', async () => {
    const env = { ...process.env };
    delete env.RESTART_POLICY;
    const { stdout } = await promisify(execFile)(
      'docker',
      ['compose', '-f', 'docker-compose.yml', 'config', '--format', 'json'],
      { cwd: REPO_ROOT, env },
    );
    const config = JSON.parse(stdout) as { services: Record<string, { restart?: string }> };
    expect(config.services.server?.restart).toBe('unless-stopped');
    expect(config.services.client?.restart).toBe('unless-stopped');
  });

  it('Dockerfiles: every stage FROM the NODE_IMAGE build arg, which compose passes through', async () => {
    const compose = await readFile(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    for (const service of ['server', 'client']) {
      const dockerfile = await readFile(join(REPO_ROOT, `Dockerfile.${service}`), 'utf8');
      const froms = dockerfile.split('\n').filter((l) => /^FROM\s/i.test(l));
      expect(froms.length).toBeGreaterThanOrEqual(2);
      for (const from of froms) expect(from).toMatch(/^FROM \$\{NODE_IMAGE\} AS \w+$/);
      // The default is the official image, by tag or pinned by digest; CI overrides it.
      expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim(@sha256:[0-9a-f]{64})?$/m);
      expect(dockerfile).toMatch(/^USER node$/m);
    }
    expect(
      compose.match(/NODE_IMAGE: \$\{NODE_IMAGE:-node:24-bookworm-slim(@sha256:[0-9a-f]{64})?\}/g),
    ).toHaveLength(2);
  });
});
