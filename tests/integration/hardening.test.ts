/**
 * Issue 5, hardening, asserted on the running stack: what `docker inspect`
 * reports for each container and its image, and what the processes see from
 * inside (user, capabilities, no-new-privileges, read-only root, no npm).
 * One compose project for every check; nothing here changes its state.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComposeFixture, REPO_ROOT, upCompose } from '../support/compose.js';

const SERVICES = [
  { service: 'server', memory: 128 * 1024 * 1024, main: 'dist/server/main.js' },
  { service: 'client', memory: 256 * 1024 * 1024, main: 'dist/client/main.js' },
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
  beforeAll(async () => {
    fx = await upCompose({ environment: { BEACON_INTERVAL: '1s' } });
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
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    });
    expect(c.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(c.Config.Healthcheck?.Test).toEqual(['CMD', 'node', `dist/${service}/healthcheck.js`]);
    expect(c.State.Health?.Status).toBe('healthy');
    expect(c.State.Health?.Log.at(-1)?.ExitCode).toBe(0);
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
      await expect(fx.exec(service, ['npm', '--version'])).rejects.toThrow();
    },
  );

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
