/**
 * The Kubernetes manifests (deploy/kubernetes) cannot be applied here: no
 * cluster can run on the build machine. So every document is checked
 * against the Kubernetes API schemas offline (kubernetes-models), field
 * names included, and against what docker-compose.yml and the code already
 * say: ports, probes, the hardening, memory limits, mounts and variables.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment, type IDeployment, type IStatefulSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { type INetworkPolicy, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  type IContainer,
  type IPodSpec,
  type IProbe,
  type ISecurityContext,
  type IService,
  Namespace,
  Service,
} from 'kubernetes-models/v1';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = join(ROOT, 'deploy/kubernetes');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

type Doc = Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: { name?: string } };
interface Manifest {
  file: string;
  doc: Doc;
}

// YAML 1.1, as kubectl reads it (0440 is octal there, and `on` a boolean).
const yamlOptions = { version: '1.1' } as const;

function loadManifests(): Manifest[] {
  const files = readdirSync(DIR)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort();
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8'), yamlOptions).flatMap((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      const doc = d.toJS() as Doc | null;
      return doc === null ? [] : [{ file, doc }];
    }),
  );
}

/**
 * The kinds this deployment uses, each with its schema. A document of any
 * other kind fails: adding one is a decision to make here, on purpose.
 */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};
const typeKey = (doc: Doc) => `${doc.apiVersion}/${doc.kind}`;
const label = (m: Manifest) => `${m.file}: ${m.doc.kind} ${m.doc.metadata?.name}`;

/** The schema validator; returns the error, or null when the document is valid. */
function schemaError(doc: Doc): string | null {
  const Model = MODELS[typeKey(doc)];
  if (Model === undefined) return `unknown kind ${typeKey(doc)}`;
  try {
    new Model(doc as never).validate();
    return null;
  } catch (err) {
    return String(err instanceof Error ? err.message : err);
  }
}

/**
 * kubernetes-models' validator accepts fields the API does not know (its
 * schemas allow extra properties), and a typo such as `readOnlyRootFilesytem`
 * would pass and be silently dropped. The same package's TypeScript types
 * are exact, so each document is type-checked as an object literal of its
 * kind's interface: TypeScript rejects any property the type lacks.
 */
function unknownFieldErrors(docs: Doc[]): string[] {
  const sources = new Map<string, string>();
  docs.forEach((doc, i) => {
    const path = join(DIR, `__typed_${i}__.ts`);
    const type = `import('kubernetes-models/${doc.apiVersion}/${doc.kind}').I${doc.kind}`;
    sources.set(path, `export const doc: ${type} = ${JSON.stringify(doc)};\n`);
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists } = host;
  host.getSourceFile = (name, language, ...rest) => {
    const text = sources.get(name);
    return text === undefined
      ? getSourceFile(name, language, ...rest)
      : ts.createSourceFile(name, text, language);
  };
  host.fileExists = (name) => sources.has(name) || fileExists(name);
  const program = ts.createProgram([...sources.keys()], options, host);
  return [...sources.keys()].flatMap((path, i) =>
    ts
      .getPreEmitDiagnostics(program, program.getSourceFile(path))
      .map(
        (d) =>
          `${docs[i]?.kind} ${docs[i]?.metadata?.name}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
      ),
  );
}

const manifests = loadManifests();
const docsOf = <T>(kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc as T);
const kustomization = parse(read('deploy/kubernetes/kustomization.yaml'), yamlOptions) as {
  apiVersion: string;
  kind: string;
  namespace?: string;
  resources: string[];
  secretGenerator?: { name: string; files: string[] }[];
};

// The compose file is the reference: the manifests say the same things.
interface ComposeService {
  image: string;
  mem_limit: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  cap_add?: string[];
  privileged?: boolean;
  security_opt?: string[];
  stop_grace_period?: string;
  environment: Record<string, string>;
  healthcheck: { test: string[] };
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: { server: ComposeService; client: ComposeService };
};

// Each compose service's workload, found by image.
const workloads = [...docsOf<IDeployment>('Deployment'), ...docsOf<IStatefulSet>('StatefulSet')];
function workloadOf(service: 'server' | 'client') {
  const image = compose.services[service].image;
  const found = workloads.filter((w) => w.spec?.template.spec?.containers.some((c) => c.image === image));
  expect(found, `one workload runs ${image}`).toHaveLength(1);
  const workload = found[0] as IDeployment | IStatefulSet;
  const pod = workload.spec?.template.spec as IPodSpec;
  const container = pod.containers.find((c) => c.image === image) as IContainer;
  return { workload, pod, container };
}
const beacon = workloadOf('server');
const monitor = workloadOf('client');
const monitorSet = monitor.workload as IStatefulSet;

const envOf = (c: IContainer) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']));
const portOf = (c: IContainer, name: string | number | undefined) =>
  c.ports?.find((p) => p.name === name || p.containerPort === name);

/** Docker's sizes (128m, 16m: binary units) and Kubernetes quantities (128Mi), in bytes. */
function dockerBytes(text: string): number {
  const m = /^(\d+)([bkmg]?)$/i.exec(text.trim());
  if (m === null) throw new Error(`not a Docker size: ${text}`);
  return Number(m[1]) * 1024 ** 'bkmg'.indexOf((m[2] || 'b').toLowerCase());
}
function quantityBytes(q: string | number | undefined): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(String(q));
  if (m === null) throw new Error(`not a binary quantity: ${q}`);
  return Number(m[1]) * 1024 ** ['', 'Ki', 'Mi', 'Gi'].indexOf(m[2] ?? '');
}

/** The path and port a service's HEALTHCHECK script probes (services/<svc>/healthcheck.ts). */
function healthcheckProbe(service: 'server' | 'client'): { port: number; path: string } {
  const test = compose.services[service].healthcheck.test.join(' ');
  const script = /dist\/(\w+)\/healthcheck\.js/.exec(test);
  expect(script, `${service} healthcheck runs a healthcheck.js`).not.toBeNull();
  const source = read(`services/${script?.[1]}/healthcheck.ts`);
  const m = /probe\((\d+),\s*'([^']+)'/.exec(source);
  if (m === null) throw new Error(`no probe(port, path) in services/${script?.[1]}/healthcheck.ts`);
  return { port: Number(m[1]), path: m[2] as string };
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => read(join(dir, f)));
}

/** A container's security setting, the container's own value first, else the pod's. */
function effective<K extends keyof ISecurityContext>(pod: IPodSpec, c: IContainer, key: K) {
  const own = c.securityContext?.[key];
  return own !== undefined ? own : (pod.securityContext as ISecurityContext | undefined)?.[key];
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe('Kubernetes manifests: valid against the API', () => {
  it('every document is of a known kind and valid against its schema', () => {
    expect(manifests.length).toBeGreaterThan(0);
    const errors = manifests.flatMap((m) => {
      const error = schemaError(m.doc);
      return error === null ? [] : [`${label(m)}: ${error}`];
    });
    expect(errors).toEqual([]);
  });

  it('no document has a field the API does not know', () => {
    expect(unknownFieldErrors(manifests.map((m) => m.doc))).toEqual([]);
  });

  it('the checks are live: a bad document fails each of them', () => {
    const set = structuredClone(monitorSet) as IStatefulSet;
    const ports = set.spec?.template.spec?.containers[0]?.ports as { containerPort: unknown }[];
    (ports[0] as { containerPort: unknown }).containerPort = '5000';
    expect(schemaError(set as Doc)).toMatch(/containerPort must be integer/);

    const typo = structuredClone(monitorSet) as Doc & IStatefulSet;
    const container = typo.spec?.template.spec?.containers[0] as IContainer & Record<string, unknown>;
    container.securityContext = { readOnlyRootFilesytem: true } as ISecurityContext;
    expect(schemaError(typo)).toBeNull(); // the schema validator alone lets it through
    expect(unknownFieldErrors([typo]).join('\n')).toMatch(/readOnlyRootFilesytem/);

    expect(schemaError({ ...(set as Doc), kind: 'Deploymnet' })).toMatch(/unknown kind/);
  });

  it('the kustomization lists every manifest file and every generated Secret file exists', () => {
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.kind).toBe('Kustomization');
    const files = [...new Set(manifests.map((m) => m.file))].sort();
    expect([...kustomization.resources].sort()).toEqual(files);
    for (const generator of kustomization.secretGenerator ?? []) {
      for (const entry of generator.files) {
        const path = resolve(DIR, entry.split('=').at(-1) as string);
        expect(relative(DIR, path).startsWith('..'), `${entry} inside deploy/kubernetes`).toBe(false);
        expect(existsSync(path), `${generator.name}: ${entry} exists`).toBe(true);
      }
    }
    const namespaces = docsOf<{ metadata: { name: string } }>('Namespace').map((n) => n.metadata.name);
    expect(namespaces).toEqual([kustomization.namespace]);
  });

  it('the committed Secret values are placeholders, unusable as real ones', () => {
    const generated = (name: string, key: string) => {
      const entry = kustomization.secretGenerator
        ?.find((g) => g.name === name)
        ?.files.find((f) => f.startsWith(`${key}=`));
      expect(entry, `${name} has a ${key} file`).toBeDefined();
      return readFileSync(join(DIR, (entry as string).split('=')[1] as string), 'utf8').trim();
    };
    const token = generated('admin-token', 'token');
    expect(token).toMatch(/PLACEHOLDER/);
    expect(Buffer.byteLength(token)).toBeLessThan(32); // shorter than any real key or token
    for (const url of generated('notify-webhooks', 'urls').split(/\s+/)) {
      expect(new URL(url).hostname).toMatch(/\.invalid$/); // RFC 6761: never resolves
    }
  });
});

describe('Kubernetes manifests agree with docker-compose.yml and the code', () => {
  it('the monitors: a StatefulSet of 2 with a volume claim at DATA_DIR=/data and anti-affinity', () => {
    expect(monitor.workload.kind).toBe('StatefulSet');
    expect(monitorSet.spec?.replicas).toBe(2);
    const env = envOf(monitor.container);
    expect(env.DATA_DIR).toBe('/data');
    if (compose.services.client.environment.DATA_DIR !== undefined) {
      expect(env.DATA_DIR).toBe(compose.services.client.environment.DATA_DIR);
    }
    const mount = monitor.container.volumeMounts?.find((v) => v.mountPath === env.DATA_DIR);
    expect(mount, 'a volume mounted at DATA_DIR').toBeDefined();
    const claim = monitorSet.spec?.volumeClaimTemplates?.find((t) => t.metadata?.name === mount?.name);
    expect(claim?.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(mount?.readOnly).not.toBe(true);

    const podLabels = monitorSet.spec?.template.metadata?.labels;
    const terms = monitor.pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(
      terms.some(
        (t) => t.topologyKey === 'kubernetes.io/hostname' && matches(t.labelSelector?.matchLabels, podLabels),
      ),
      'replicas are kept off each other’s node',
    ).toBe(true);
  });

  it('the replicas give their alerts one monitor label, the one the Swarm stack gives them', () => {
    // Each replica's MONITOR_NAME is its pod name; without one shared label Alertmanager would get two alerts.
    const swarm = parse(read('deploy/swarm/stack.yml')) as {
      services: { monitor: { environment: Record<string, string> } };
    };
    const label = envOf(monitor.container).ALERT_MONITOR_LABEL;
    expect(label).toBeTruthy();
    expect(label).toBe(swarm.services.monitor.environment.ALERT_MONITOR_LABEL);
  });

  it('the beacon: a Deployment beating to every monitor replica through the headless Service', () => {
    expect(beacon.workload.kind).toBe('Deployment');
    const beats = docsOf<IService>('Service').find((s) => s.metadata?.name === monitorSet.spec?.serviceName);
    expect(beats?.spec?.clusterIP).toBe('None');
    expect(matches(beats?.spec?.selector, monitorSet.spec?.template.metadata?.labels)).toBe(true);
    const udp = portOf(monitor.container, 'beats');
    expect(beats?.spec?.ports).toContainEqual(
      expect.objectContaining({ protocol: 'UDP', port: udp?.containerPort }),
    );
    // One name per replica: a lookup of the bare Service name gives one address.
    const replicas = Array.from(
      { length: monitorSet.spec?.replicas ?? 0 },
      (_, i) => `${monitorSet.metadata?.name}-${i}.${monitorSet.spec?.serviceName}:${udp?.containerPort}`,
    ).join(',');
    expect(envOf(beacon.container).BEACON_TARGETS).toBe(replicas);
    expect(envOf(monitor.container).PEER_MONITORS).toBe(replicas);
  });

  it('container ports are the ones compose and the images use: UDP 5000, HTTP 8080, server 8081', () => {
    const client = compose.services.client.environment;
    const server = compose.services.server.environment;
    expect(portOf(monitor.container, Number(client.UDP_PORT))?.protocol).toBe('UDP');
    expect(portOf(monitor.container, Number(client.HTTP_PORT))?.protocol).toBe('TCP');
    expect(portOf(beacon.container, Number(server.HTTP_PORT))?.protocol).toBe('TCP');
    expect([client.UDP_PORT, client.HTTP_PORT, server.HTTP_PORT]).toEqual(['5000', '8080', '8081']);
    // The manifests set the same ports in the environment the services read.
    expect(envOf(monitor.container).UDP_PORT).toBe(client.UDP_PORT);
    expect(envOf(monitor.container).HTTP_PORT).toBe(client.HTTP_PORT);
    expect(envOf(beacon.container).HTTP_PORT).toBe(server.HTTP_PORT);

    const http = docsOf<IService>('Service').find(
      (s) =>
        s.spec?.clusterIP !== 'None' && matches(s.spec?.selector, monitorSet.spec?.template.metadata?.labels),
    );
    expect(http?.spec?.ports).toContainEqual(expect.objectContaining({ protocol: 'TCP', port: 8080 }));
    for (const service of docsOf<IService>('Service')) {
      const target = workloads.find((w) =>
        matches(service.spec?.selector, w.spec?.template.metadata?.labels),
      );
      expect(target, `${service.metadata?.name} selects a workload`).toBeDefined();
      for (const p of service.spec?.ports ?? []) {
        const c = target?.spec?.template.spec?.containers[0] as IContainer;
        expect(portOf(c, p.targetPort)?.protocol, `${service.metadata?.name} ${p.name}`).toBe(p.protocol);
      }
    }
  });

  it('probes ask the paths the compose health checks ask, on the HTTP port', () => {
    const probePath = (p: IProbe | undefined, c: IContainer) => ({
      path: p?.httpGet?.path,
      port: portOf(c, p?.httpGet?.port)?.containerPort,
    });
    // Readiness of the monitor is what its HEALTHCHECK asks; liveness is /healthz.
    expect(probePath(monitor.container.readinessProbe, monitor.container)).toEqual(
      healthcheckProbe('client'),
    );
    expect(probePath(monitor.container.livenessProbe, monitor.container)).toEqual({
      path: '/healthz',
      port: 8080,
    });
    expect(probePath(beacon.container.livenessProbe, beacon.container)).toEqual(healthcheckProbe('server'));
    // Every probed path is a route of that service.
    const routes = (dir: string) => sourcesUnder(dir).join('\n');
    for (const path of ['/healthz', '/readyz']) expect(routes('services/client')).toContain(`'${path}'`);
    expect(routes('services/server')).toContain(`'/healthz'`);
  });

  it.each([['server', () => beacon] as const, ['client', () => monitor] as const])(
    '%s: the compose hardening, the /tmp tmpfs and the memory limit',
    (service, workloadFn) => {
      const { pod, container } = workloadFn();
      const spec = compose.services[service];
      const dockerfile = read(service === 'server' ? 'Dockerfile.server' : 'Dockerfile.client');

      // Non-root: the image's `node` user, uid 1000.
      expect(dockerfile).toMatch(/^USER node$/m);
      expect(effective(pod, container, 'runAsNonRoot')).toBe(true);
      expect(effective(pod, container, 'runAsUser')).toBe(1000);
      // read_only: true
      expect(spec.read_only).toBe(true);
      expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
      // cap_drop: [ALL], nothing added
      expect(spec.cap_drop).toEqual(['ALL']);
      expect(spec.cap_add ?? []).toEqual([]);
      expect(container.securityContext?.capabilities?.drop).toEqual(['ALL']);
      expect(container.securityContext?.capabilities?.add ?? []).toEqual([]);
      // no-new-privileges:true
      expect(spec.security_opt).toContain('no-new-privileges:true');
      expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
      expect(container.securityContext?.privileged ?? false).toBe(false);
      expect(spec.privileged ?? false).toBe(false);
      // Docker's default seccomp profile (compose does not turn it off) = RuntimeDefault.
      expect((spec.security_opt ?? []).some((o) => /^seccomp[=:]unconfined$/.test(o))).toBe(false);
      expect(effective(pod, container, 'seccompProfile')).toEqual({ type: 'RuntimeDefault' });
      expect(pod.hostNetwork ?? false).toBe(false);
      expect(pod.automountServiceAccountToken).toBe(false);

      // tmpfs /tmp:size=16m -> an emptyDir at /tmp of the same size.
      const tmpfs = (spec.tmpfs ?? []).find((t) => t.startsWith('/tmp:'));
      const size = /size=(\w+)/.exec(tmpfs ?? '')?.[1];
      expect(size, 'compose mounts a sized tmpfs at /tmp').toBeDefined();
      const tmpMount = container.volumeMounts?.find((v) => v.mountPath === '/tmp');
      const tmpVolume = pod.volumes?.find((v) => v.name === tmpMount?.name);
      expect(tmpVolume?.emptyDir?.medium).toBe('Memory');
      expect(quantityBytes(tmpVolume?.emptyDir?.sizeLimit)).toBe(dockerBytes(size as string));

      // mem_limit -> limits.memory, and the same request (no overcommit of memory).
      const limit = container.resources?.limits?.memory;
      expect(quantityBytes(limit)).toBe(dockerBytes(spec.mem_limit));
      expect(container.resources?.requests?.memory).toBe(limit);

      // stop_grace_period -> terminationGracePeriodSeconds.
      expect(pod.terminationGracePeriodSeconds).toBe(
        Number(/^(\d+)s$/.exec(spec.stop_grace_period ?? '')?.[1]),
      );
    },
  );

  it('Secrets: every *_FILE variable points into a mounted Secret, every Secret is generated or optional', () => {
    const generated = new Set((kustomization.secretGenerator ?? []).map((g) => g.name));
    for (const { pod, container } of [beacon, monitor]) {
      for (const volume of pod.volumes ?? []) {
        if (volume.secret === undefined) continue;
        expect(
          generated.has(volume.secret.secretName ?? '') || volume.secret.optional === true,
          `${volume.secret.secretName} is generated by the kustomization or optional`,
        ).toBe(true);
      }
      const secretMounts = (container.volumeMounts ?? []).filter(
        (m) => pod.volumes?.find((v) => v.name === m.name)?.secret !== undefined,
      );
      for (const m of secretMounts) {
        expect(m.readOnly).toBe(true);
        expect(m.mountPath.startsWith('/run/secrets/')).toBe(true);
      }
      for (const [name, value] of Object.entries(envOf(container))) {
        if (!name.endsWith('_FILE') && !name.endsWith('_FILES')) continue;
        for (const item of value.split(',').filter((v) => v !== '')) {
          const path = item.includes('=') ? item.slice(item.indexOf('=') + 1) : item;
          const mount = secretMounts.find((m) => path.startsWith(`${m.mountPath}/`));
          expect(mount, `${name}=${value} is inside a mounted Secret`).toBeDefined();
          const volume = pod.volumes?.find((v) => v.name === mount?.name);
          const key = path.slice((mount?.mountPath.length ?? 0) + 1);
          const generator = kustomization.secretGenerator?.find((g) => g.name === volume?.secret?.secretName);
          if (generator !== undefined) {
            expect(
              generator.files.map((f) => f.split('=')[0]),
              `${name}: key ${key}`,
            ).toContain(key);
          }
        }
      }
    }
  });

  it('every variable the manifests set is a documented setting', () => {
    const readme = read('README.md');
    const section = (heading: string) => {
      const start = readme.indexOf(heading);
      expect(start, heading).toBeGreaterThan(-1);
      const end = readme.indexOf('\n#', start + heading.length);
      return readme.slice(start, end === -1 ? undefined : end);
    };
    const documented = (text: string) =>
      new Set([...text.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    const server = documented(section('### Server (beacon)'));
    const client = documented(section('### Client (monitor)'));
    for (const name of Object.keys(envOf(beacon.container))) expect(server, name).toContain(name);
    for (const name of Object.keys(envOf(monitor.container))) expect(client, name).toContain(name);
  });

  it('the PodDisruptionBudget and the NetworkPolicy select the monitors', () => {
    const podLabels = monitorSet.spec?.template.metadata?.labels;
    const beaconLabels = beacon.workload.spec?.template.metadata?.labels;
    const pdbs = docsOf<IPodDisruptionBudget>('PodDisruptionBudget');
    expect(pdbs).toHaveLength(1);
    const [pdb] = pdbs;
    expect(pdb?.spec?.minAvailable).toBe(1);
    expect(matches(pdb?.spec?.selector?.matchLabels, podLabels)).toBe(true);

    const policies = docsOf<INetworkPolicy>('NetworkPolicy');
    expect(policies).toHaveLength(1);
    const spec = policies[0]?.spec;
    expect(matches(spec?.podSelector?.matchLabels, podLabels)).toBe(true);
    expect(spec?.policyTypes).toEqual(['Ingress']);
    const rules = spec?.ingress ?? [];
    const udp = rules.filter((r) => r.ports?.some((p) => p.protocol === 'UDP' && p.port === 5000));
    expect(udp).toHaveLength(1);
    const udpFrom = udp[0]?.from ?? [];
    expect(
      udpFrom.every(
        (f) => f.podSelector !== undefined && f.namespaceSelector === undefined && f.ipBlock === undefined,
      ),
    ).toBe(true);
    expect(udpFrom.some((f) => matches(f.podSelector?.matchLabels, beaconLabels))).toBe(true);
    expect(udpFrom.some((f) => matches(f.podSelector?.matchLabels, podLabels))).toBe(true);
    const tcp = rules.filter((r) => r.ports?.some((p) => p.protocol === 'TCP' && p.port === 8080));
    expect(tcp).toHaveLength(1);
    expect(tcp[0]?.from).toEqual([{ podSelector: {} }]); // any pod of this namespace
    // Nothing else is let in.
    expect(rules).toHaveLength(2);
  });
});

/**
 * A JSON patch (RFC 6902) of `add` operations only, as the component's patch
 * uses: enough to apply it here, where no kustomize runs. Any other
 * operation, or a path that does not lead to an object or array, throws.
 */
function applyAdds(doc: unknown, ops: Array<{ op: string; path: string; value: unknown }>): unknown {
  const copy = structuredClone(doc);
  for (const { op, path, value } of ops) {
    if (op !== 'add') throw new Error(`not supported here: ${op}`);
    const keys = path.split('/').slice(1);
    const last = keys.pop() as string;
    let node = copy as Record<string, unknown>;
    for (const key of keys) {
      const next = node[key];
      if (typeof next !== 'object' || next === null) throw new Error(`${path}: nothing at ${key}`);
      node = next as Record<string, unknown>;
    }
    node[last] = value;
  }
  return copy;
}

describe('Kubernetes component external-senders: senders outside the cluster', () => {
  const COMPONENT = 'deploy/kubernetes/external-senders';
  const component = parse(read(`${COMPONENT}/kustomization.yaml`), yamlOptions) as {
    apiVersion: string;
    kind: string;
    resources: string[];
    patches: Array<{ path: string; target: { group: string; version: string; kind: string; name: string } }>;
  };

  it('is a Component of a NetworkPolicy and one patch of the monitors’ StatefulSet', () => {
    expect(component.apiVersion).toBe('kustomize.config.k8s.io/v1alpha1');
    expect(component.kind).toBe('Component');
    const files = readdirSync(join(ROOT, COMPONENT))
      .filter((f) => f !== 'kustomization.yaml')
      .sort();
    expect([...component.resources, ...component.patches.map((p) => p.path)].sort()).toEqual(files);
    expect(component.patches).toHaveLength(1);
    expect(component.patches[0]?.target).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'StatefulSet',
      name: monitorSet.metadata?.name,
    });
  });

  it('the patched monitors take beats on their node’s UDP 5000, one monitor per node, and stay valid', () => {
    const ops = parse(read(`${COMPONENT}/${component.patches[0]?.path}`), yamlOptions);
    // The patch adds the host port and nothing else; it names the port by place, so its place is checked.
    expect(ops).toEqual([
      { op: 'add', path: '/spec/template/spec/containers/0/ports/0/hostPort', value: 5000 },
    ]);
    const patched = applyAdds(monitorSet, ops) as IStatefulSet & Doc;
    expect(schemaError(patched)).toBeNull();
    expect(patched.spec?.template.spec?.containers[0]?.image).toBe(monitor.container.image);
    expect(patched.spec?.template.spec?.containers[0]?.ports?.[0]).toEqual({
      name: 'beats',
      containerPort: 5000,
      protocol: 'UDP',
      hostPort: 5000,
    });
    // Two monitors on one node would want the same host port: the anti-affinity (checked above) forbids it.
    expect(
      monitor.pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
    ).toBeDefined();
  });

  it('its NetworkPolicy lets beats in from a placeholder network only, in the base set’s namespace', () => {
    const policy = parse(read(`${COMPONENT}/${component.resources[0]}`), yamlOptions) as INetworkPolicy & Doc;
    expect(schemaError(policy)).toBeNull();
    expect(policy.metadata?.namespace).toBe(kustomization.namespace);
    expect(matches(policy.spec?.podSelector?.matchLabels, monitorSet.spec?.template.metadata?.labels)).toBe(
      true,
    );
    expect(policy.spec?.policyTypes).toEqual(['Ingress']);
    expect(policy.spec?.ingress).toEqual([
      // TEST-NET-1 (RFC 5737): no sender has it, so nothing gets in until an overlay names the real networks.
      { from: [{ ipBlock: { cidr: '192.0.2.0/24' } }], ports: [{ protocol: 'UDP', port: 5000 }] },
    ]);
  });
});
