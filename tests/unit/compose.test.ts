/**
 * docs/monitoring/docker-compose.yml cannot run here (no Docker engine), so it is checked as Docker
 * and the services would read it: every image pinned, every mounted host path present in the
 * repository, nothing loadbay writes bound to a host folder, and every reference — depends_on, ports,
 * the database URL, Prometheus' scrape target, rule file, token and Alertmanager, Grafana's data
 * source and dashboard folder — resolving to a service that listens there or a file mounted there.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../helpers/env.js';
import { promtool, runPromtool } from '../helpers/promtool.js';

const tool = promtool();
if (tool.skip) console.log(`promtool check config skipped: ${tool.skip}`);

const DIR = path.join(PROJECT_ROOT, 'docs', 'monitoring');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed YAML document of known shape
const yamlFile = (file: string) => parse(readFileSync(file, 'utf8')) as Record<string, any>;
const compose = yamlFile(path.join(DIR, 'docker-compose.yml'));
const services = compose['services'] as Record<string, Service>;

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, unknown>;
  volumes?: string[];
  ports?: string[];
}

/** What each service listens on inside the network (the images' defaults, loadbay's from its config). */
function listens(name: string): number[] {
  if (name === 'loadbay') return [yamlFile(path.join(DIR, 'loadbay.yaml'))['http'].port as number];
  return { postgres: [5432], prometheus: [9090], alertmanager: [9093], grafana: [3000] }[name] ?? [];
}

/** The service's mounts: host path (resolved, or a named volume) → container path. */
function mounts(service: Service): Array<{ source: string; named: boolean; target: string; readOnly: boolean }> {
  return (service.volumes ?? []).map((spec) => {
    const [source, target, mode] = spec.split(':') as [string, string, string | undefined];
    const named = !source.startsWith('.') && !source.startsWith('/');
    return { source: named ? source : path.resolve(DIR, source), named, target, readOnly: mode === 'ro' };
  });
}

/** The host file behind a path inside a service's container (through a file or a folder mount). */
function hostPath(service: Service, inside: string): string | null {
  for (const m of mounts(service)) {
    if (m.named) continue;
    if (inside === m.target) return m.source;
    if (inside.startsWith(`${m.target}/`)) return path.join(m.source, inside.slice(m.target.length + 1));
  }
  return null;
}

/** `host:port` (or a URL) → the service it names listens on that port. */
function expectServiceAt(address: string): void {
  const { hostname, port } = new URL(address.includes('://') ? address : `tcp://${address}`);
  expect([address, Object.keys(services)]).toEqual([address, expect.arrayContaining([hostname])]);
  expect([address, listens(hostname)]).toEqual([address, expect.arrayContaining([Number(port)])]);
}

test('the five services, each image pinned to a version (loadbay built from this repository)', () => {
  expect(Object.keys(services).sort()).toEqual(['alertmanager', 'grafana', 'loadbay', 'postgres', 'prometheus']);
  for (const [name, service] of Object.entries(services)) {
    if (name === 'loadbay') {
      expect(existsSync(path.join(path.resolve(DIR, service.build!), 'Dockerfile'))).toBe(true);
      continue;
    }
    expect([name, service.image]).toEqual([name, expect.stringMatching(/^[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.]+)?$/)]);
  }
});

test('every mounted host path exists; loadbay writes only into named volumes, exports/ included', () => {
  const declared = Object.keys(compose['volumes'] ?? {});
  for (const [name, service] of Object.entries(services)) {
    for (const m of mounts(service)) {
      if (m.named) expect([name, m.source, declared.includes(m.source)]).toEqual([name, m.source, true]);
      else expect([name, m.source, existsSync(m.source)]).toEqual([name, m.source, true]);
      // Host paths are configuration, read only: nothing a container writes lands in a root-owned host folder.
      if (!m.named) expect([name, m.target, m.readOnly]).toEqual([name, m.target, true]);
    }
  }
  const loadbay = services['loadbay']!;
  const targets = mounts(loadbay).filter((m) => m.named).map((m) => m.target);
  for (const folder of ['input', 'output_parquet', 'output_failed', 'archive', 'exports', 'logs']) expect(targets).toContain(`/app/${folder}`);
  // The image makes those folders (owned by node), so a new named volume takes their owner.
  const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/mkdir -p input output_parquet output_failed archive exports logs data && chown -R node:node \/app/);
  // loadbay's configuration is the mounted file its command names.
  const config = loadbay.command![loadbay.command!.indexOf('--config') + 1]!;
  expect(hostPath(loadbay, path.posix.join('/app', config))).toBe(path.join(DIR, 'loadbay.yaml'));
  // Export targets resolve inside /app/exports: root is /app (config/.. in the image).
  expect(yamlFile(path.join(DIR, 'loadbay.yaml'))['root']).toBe('..');
});

test('depends_on and published ports resolve; no host port twice', () => {
  const published = new Set<string>();
  for (const [name, service] of Object.entries(services)) {
    const needs = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
    for (const other of needs) expect([name, other, other in services]).toEqual([name, other, true]);
    for (const port of service.ports ?? []) {
      const [host, hostPort, containerPort] = port.split(':');
      expect([name, port, host]).toEqual([name, port, '127.0.0.1']);
      expect([name, port, listens(name).includes(Number(containerPort))]).toEqual([name, port, true]);
      expect(published.has(hostPort!)).toBe(false);
      published.add(hostPort!);
    }
  }
  expect([...published].sort()).toEqual(['3000', '5432', '9090', '9093', '9477']);
});

test("loadbay's database URL and token match PostgreSQL's and Prometheus' settings", () => {
  const loadbay = services['loadbay']!;
  const url = new URL(loadbay.environment!['DATABASE_URL']!);
  expectServiceAt(`${url.hostname}:${url.port}`);
  const postgres = services['postgres']!.environment!;
  expect(decodeURIComponent(url.password)).toBe(postgres['POSTGRES_PASSWORD']);
  expect(url.pathname).toBe(`/${postgres['POSTGRES_DB']}`);
  expect((loadbay.environment!['LOADBAY_HTTP_TOKEN'] ?? '').length).toBeGreaterThanOrEqual(16);
  expect(readFileSync(path.join(DIR, 'prometheus-token'), 'utf8').trim()).toBe(loadbay.environment!['LOADBAY_HTTP_TOKEN']);
});

test("Prometheus' scrape target, rule files, token file and Alertmanager resolve", () => {
  const prometheus = services['prometheus']!;
  const configArg = prometheus.command!.find((a) => a.startsWith('--config.file='))!.split('=')[1]!;
  const configFile = hostPath(prometheus, configArg)!;
  expect(configFile).toBe(path.join(DIR, 'prometheus.yml'));
  const config = yamlFile(configFile);
  for (const rules of config['rule_files'] as string[]) expect([rules, existsSync(hostPath(prometheus, rules) ?? '')]).toEqual([rules, true]);
  const scrape = config['scrape_configs'] as Array<{ job_name: string; authorization?: { credentials_file: string }; static_configs: Array<{ targets: string[] }> }>;
  expect(scrape.map((s) => s.job_name)).toContain('loadbay'); // the dashboard's process panels select job="loadbay"
  for (const job of scrape) {
    for (const target of job.static_configs.flatMap((s) => s.targets)) expectServiceAt(target);
    if (job.authorization) expect(hostPath(prometheus, job.authorization.credentials_file)).toBe(path.join(DIR, 'prometheus-token'));
  }
  const alertmanagers = config['alerting']['alertmanagers'] as Array<{ static_configs: Array<{ targets: string[] }> }>;
  const targets = alertmanagers.flatMap((a) => a.static_configs.flatMap((s) => s.targets));
  expect(targets.length).toBeGreaterThan(0);
  for (const target of targets) expectServiceAt(target);
  const alertmanager = services['alertmanager']!;
  const amConfig = hostPath(alertmanager, alertmanager.command!.find((a) => a.startsWith('--config.file='))!.split('=')[1]!)!;
  const am = yamlFile(amConfig);
  expect(am['receivers'].map((r: { name: string }) => r.name)).toContain(am['route']['receiver']);
});

test("Grafana's provisioned data source is the Prometheus service and its dashboard folder holds the dashboard", () => {
  const grafana = services['grafana']!;
  const datasources = hostPath(grafana, '/etc/grafana/provisioning/datasources')!;
  const dashboards = hostPath(grafana, '/etc/grafana/provisioning/dashboards')!;
  for (const dir of [datasources, dashboards]) expect([dir, statSync(dir).isDirectory()]).toEqual([dir, true]);
  const sources = yamlFile(path.join(datasources, 'prometheus.yml'))['datasources'] as Array<{ type: string; url: string; isDefault: boolean }>;
  expect(sources).toEqual([expect.objectContaining({ type: 'prometheus', isDefault: true })]);
  expectServiceAt(sources[0]!.url);
  const providers = yamlFile(path.join(dashboards, 'loadbay.yml'))['providers'] as Array<{ type: string; options: { path: string } }>;
  expect(providers).toHaveLength(1);
  const dashboard = path.join(providers[0]!.options.path, 'loadbay.json');
  expect(hostPath(grafana, dashboard)).toBe(path.join(DIR, 'grafana-dashboard.json'));
  expect(hostPath(grafana, grafana.environment!['GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH']!)).toBe(path.join(DIR, 'grafana-dashboard.json'));
  const json = JSON.parse(readFileSync(path.join(DIR, 'grafana-dashboard.json'), 'utf8')) as { templating: { list: Array<{ type: string; query: unknown }> } };
  expect(json.templating.list.find((v) => v.type === 'datasource')?.query).toBe('prometheus');
});

(tool.path ? test : test.skip)("promtool accepts Prometheus' configuration, its container paths mapped to the mounted files", () => {
  const prometheus = services['prometheus']!;
  let text = readFileSync(path.join(DIR, 'prometheus.yml'), 'utf8');
  for (const m of mounts(prometheus)) if (!m.named) text = text.split(m.target).join(m.source);
  const work = mkdtempSync(path.join(os.tmpdir(), 'loadbay-prometheus-'));
  try {
    writeFileSync(path.join(work, 'prometheus.yml'), text);
    const checked = runPromtool(tool.path!, ['check', 'config', path.join(work, 'prometheus.yml')]);
    expect([checked.status, checked.output]).toEqual([0, expect.stringMatching(/SUCCESS/)]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
