/**
 * The alerting rules (deploy/prometheus) are checked by the real promtool:
 * syntax, the example configuration, and the rules' own unit tests
 * (rules.test.yml: when each alert fires and when it must not). Every
 * metric a rule names must be one the services register, so a renamed
 * metric cannot leave an alert that silently never fires.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

const RULES = 'deploy/prometheus/rules.yml';
const RULE_TESTS = 'deploy/prometheus/rules.test.yml';
const CONFIG = 'deploy/prometheus/prometheus.yml';

// Series Prometheus makes itself for every target.
const SCRAPE_SERIES = ['up'];

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (result.error !== undefined) {
    throw new Error(
      `cannot run promtool (${result.error.message}): install Debian's \`prometheus\` package ` +
        '(`source .ci/provision.sh` does)',
    );
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}
const rules = (parse(read(RULES)) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
]);

/** The metric names a PromQL expression selects (not functions, keywords, labels or durations). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1] as string)
    .filter((name) => !PROMQL_WORDS.has(name));
}

/**
 * The metric names the services register, read from their sources: full
 * names written out (`name: 'beacon_...'`), and names built from a
 * `PREFIX = 'udp_monitor_'` constant in the same file (`PREFIX + name` with
 * the name a quoted literal there, or `${PREFIX}name`).
 */
function registeredMetricNames(): Set<string> {
  const names = new Set<string>();
  const files = readdirSync(join(ROOT, 'services'), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  for (const file of files) {
    const source = read(join('services', file));
    for (const m of source.matchAll(/name:\s*'([a-z_:][a-z0-9_:]*)'/g)) names.add(m[1] as string);
    const prefix = /const PREFIX = '([a-z_]+)'/.exec(source)?.[1];
    if (prefix === undefined) continue;
    for (const m of source.matchAll(/\$\{PREFIX\}([a-z0-9_]+)/g)) names.add(prefix + m[1]);
    for (const m of source.matchAll(/'([a-z][a-z0-9_]*)'/g)) names.add(prefix + m[1]);
  }
  return names;
}

describe('Prometheus alerting rules', () => {
  it('promtool accepts the rules', () => {
    const { status, output } = promtool('check', 'rules', RULES);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status, output).toBe(0);
  });

  it("the rules' unit tests pass (each alert fires when it should and only then)", () => {
    const { status, output } = promtool('test', 'rules', RULE_TESTS);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('promtool accepts the example configuration (which loads the rules)', () => {
    const { status, output } = promtool('check', 'config', CONFIG);
    expect(status, output).toBe(0);
  });

  it('promtool rejects a broken rule and a failing rule test, so the checks above are live', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      const rule = (expr: string) =>
        `groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: ${expr}\n`;
      writeFileSync(join(dir, 'broken.yml'), rule('increase(foo[5m] > 0'));
      expect(promtool('check', 'rules', join(dir, 'broken.yml')).status).not.toBe(0);
      // A valid rule whose test expects an alert that never comes.
      writeFileSync(join(dir, 'rules.yml'), rule('foo > 0'));
      writeFileSync(
        join(dir, 'test.yml'),
        'rule_files: [rules.yml]\ntests:\n  - interval: 1m\n    input_series:\n' +
          "      - { series: 'foo', values: '0x5' }\n    alert_rule_test:\n" +
          '      - { eval_time: 5m, alertname: X, exp_alerts: [{ exp_labels: {} }] }\n',
      );
      const { status, output } = promtool('test', 'rules', join(dir, 'test.yml'));
      expect(status, output).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has the alerts the deployment relies on, each with a severity', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'UdpKernelDrops',
        'UdpLogLinesDropped',
        'UdpMonitorAbsent',
        'UdpNotificationsGivenUp',
        'UdpSenderDown',
      ].sort(),
    );
    for (const rule of rules) expect(['critical', 'warning']).toContain(rule.labels?.severity);
  });

  it('every alert is exercised by rules.test.yml, firing at least once and silent at least once', () => {
    const tests = (
      parse(read(RULE_TESTS)) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const rule of rules) {
      const cases = tests.filter((t) => t.alertname === rule.alert);
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length > 0),
        `${rule.alert} fires in a test`,
      ).toBe(true);
      expect(
        cases.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.alert} stays silent in a test`,
      ).toBe(true);
    }
  });

  it('every metric a rule uses is registered by the client or the server', () => {
    const registered = registeredMetricNames();
    // The reader finds what is there, a per-target counter (registered through a helper) included.
    expect(registered).toContain('udp_monitor_sender_state');
    expect(registered).toContain('udp_monitor_kernel_drops_total');
    expect(registered).toContain('udp_monitor_notifications_given_up_total');
    expect(registered).toContain('beacon_datagrams_sent_total');

    const used = rules.flatMap((r) => metricNames(r.expr).map((name) => ({ alert: r.alert, name })));
    expect(used.map((u) => u.name)).toContain('udp_monitor_sender_state');
    const unknown = used.filter(({ name }) => !registered.has(name) && !SCRAPE_SERIES.includes(name));
    expect(unknown).toEqual([]);
  });

  it('the metric-name reader is live: it finds names in an expression and rejects a made-up one', () => {
    expect(metricNames('max by (source) (udp_monitor_sender_state{state="down"}) == 1')).toEqual([
      'udp_monitor_sender_state',
    ]);
    expect(metricNames('up{job="udp-monitor"} == 0 or absent(up{job="udp-monitor"})')).toEqual(['up', 'up']);
    expect(metricNames('increase(udp_monitor_kernel_drops_total[5m]) > 0')).toEqual([
      'udp_monitor_kernel_drops_total',
    ]);
    expect(registeredMetricNames().has('udp_monitor_kernel_drop_total')).toBe(false);
  });

  it('the example configuration scrapes the jobs the rules name, at the manifests’ pods and ports', () => {
    const config = parse(read(CONFIG)) as {
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
    };
    expect(config.rule_files).toEqual(['rules.yml']);
    const jobs = new Map(config.scrape_configs.map((s) => [s.job_name, s]));
    for (const rule of rules) {
      for (const m of rule.expr.matchAll(/job="([^"]+)"/g)) expect([...jobs.keys()]).toContain(m[1]);
    }

    const kustomization = parse(read('deploy/kubernetes/kustomization.yaml')) as { namespace: string };
    const docs = ['monitor.yaml', 'services.yaml', 'beacon.yaml'].flatMap((f) =>
      parseAllDocuments(read(`deploy/kubernetes/${f}`)).map(
        (d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, never> },
      ),
    );
    const set = docs.find((d) => d.kind === 'StatefulSet') as unknown as {
      metadata: { name: string };
      spec: { replicas: number; serviceName: string };
    };
    const monitorTargets = Array.from(
      { length: set.spec.replicas },
      (_, i) => `${set.metadata.name}-${i}.${set.spec.serviceName}.${kustomization.namespace}.svc:8080`,
    );
    expect(jobs.get('udp-monitor')?.static_configs?.flatMap((s) => s.targets)).toEqual(monitorTargets);

    const beaconDeployment = docs.find((d) => d.kind === 'Deployment');
    const beaconService = docs.find(
      (d) => d.kind === 'Service' && d.metadata.name === beaconDeployment?.metadata.name,
    ) as unknown as { spec: { clusterIP: string; ports: { port: number }[] } } | undefined;
    expect(beaconService?.spec.clusterIP).toBe('None');
    expect(beaconService?.spec.ports.map((p) => p.port)).toEqual([8081]);
    expect(jobs.get('udp-beacon')?.dns_sd_configs).toEqual([
      expect.objectContaining({
        names: [`${beaconDeployment?.metadata.name}.${kustomization.namespace}.svc`],
        port: 8081,
      }),
    ]);
  });
});
