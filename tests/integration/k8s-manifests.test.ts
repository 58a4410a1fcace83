/**
 * The Kubernetes manifests in deploy/k8s hold together: the ConfigMap's loadbay.yaml and datasets
 * load with loadbay's own validation, the probes ask the paths and the port the daemon serves
 * (checked against a running daemon), the Secret has every key the Deployment and config expect.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { objectStorageSettings } from '../../src/source/s3/settings.js';
import { createTestEnv, PROJECT_ROOT, type TestEnv } from '../helpers/env.js';

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  resources?: string[];
}

interface Probe {
  exec?: { command: string[] };
  httpGet?: { path: string; port: number | string };
}

interface Container {
  args: string[];
  envFrom: Array<{ secretRef: { name: string } }>;
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: Probe;
  readinessProbe: Probe;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}

const DIR = path.join(PROJECT_ROOT, 'deploy', 'k8s');

async function manifests(): Promise<Manifest[]> {
  const all: Manifest[] = [];
  for (const name of (await readdir(DIR)).filter((n) => n.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(await readFile(path.join(DIR, name), 'utf8'))) {
      expect(doc.errors).toEqual([]);
      all.push(doc.toJS() as Manifest);
    }
  }
  return all;
}

function probeTarget(probe: Probe): { path: string; port: number } {
  if (probe.httpGet) return { path: probe.httpGet.path, port: Number(probe.httpGet.port) };
  const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[a-z]+)/.exec(probe.exec!.command.join(' '));
  if (!url) throw new Error(`no URL in the probe ${JSON.stringify(probe)}`);
  return { path: url[2]!, port: Number(url[1]) };
}

describe('deploy/k8s', () => {
  let env: TestEnv | null = null;
  let dir: string | null = null;
  afterAll(async () => {
    await env?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kustomization lists every manifest, and the Deployment runs several replicas of the configured daemon', async () => {
    const all = await manifests();
    const kustomization = all.find((m) => m.kind === 'Kustomization')!;
    const files = (await readdir(DIR)).filter((n) => n.endsWith('.yaml') && n !== 'kustomization.yaml').sort();
    expect([...kustomization.resources!].sort()).toEqual(files);
    const deployment = all.find((m) => m.kind === 'Deployment')!;
    expect(deployment.spec!['replicas']).toBeGreaterThanOrEqual(2);
    const pod = (deployment.spec!['template'] as { spec: { containers: Container[]; volumes: Array<{ name: string; configMap?: { name: string; items: Array<{ key: string; path: string }> } }> } }).spec;
    const container = pod.containers[0]!;
    const configPath = container.args[container.args.indexOf('--config') + 1]!;
    const configVolume = pod.volumes.find((v) => v.configMap)!;
    const mount = container.volumeMounts.find((m) => m.name === configVolume.name)!;
    expect(configPath.startsWith(`${mount.mountPath}/`)).toBe(true);
    const configMap = all.find((m) => m.kind === 'ConfigMap' && m.metadata.name === configVolume.configMap!.name)!;
    for (const item of configVolume.configMap!.items) expect(Object.keys(configMap.data!)).toContain(item.key);
    expect(configVolume.configMap!.items.find((i) => `${mount.mountPath}/${i.path}` === configPath)).toBeDefined();
    const secret = all.find((m) => m.kind === 'Secret' && m.metadata.name === container.envFrom[0]!.secretRef.name)!;
    expect(Object.keys(secret.stringData!).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL', 'LOADBAY_HTTP_TOKEN']);
    expect(secret.stringData!['LOADBAY_HTTP_TOKEN']!.length).toBeGreaterThanOrEqual(16);
  });

  it('the ConfigMap loads with loadbay’s validation: object-storage folders, a token off loopback, the datasets', async () => {
    const all = await manifests();
    const deployment = all.find((m) => m.kind === 'Deployment')!;
    const pod = (deployment.spec!['template'] as { spec: { volumes: Array<{ configMap?: { name: string; items: Array<{ key: string; path: string }> } }> } }).spec;
    const volume = pod.volumes.find((v) => v.configMap)!.configMap!;
    const configMap = all.find((m) => m.kind === 'ConfigMap' && m.metadata.name === volume.name)!;
    dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-k8s-'));
    for (const item of volume.items) {
      await mkdir(path.dirname(path.join(dir, item.path)), { recursive: true });
      await writeFile(path.join(dir, item.path), configMap.data![item.key]!);
    }
    const secret = all.find((m) => m.kind === 'Secret')!;
    process.env['LOADBAY_HTTP_TOKEN'] = secret.stringData!['LOADBAY_HTTP_TOKEN'];
    try {
      const config = await loadConfig(path.join(dir, 'loadbay.yaml'), { databaseUrl: secret.stringData!['DATABASE_URL'] });
      expect(config.datasets.map((d) => d.name)).toEqual(['students']);
      expect(config.http).toMatchObject({ host: '0.0.0.0', token: secret.stringData!['LOADBAY_HTTP_TOKEN'] });
      expect(objectStorageSettings(config)).toHaveLength(4);
      expect(config.database.url).toBe(secret.stringData!['DATABASE_URL']);
      const container = (deployment.spec!['template'] as { spec: { containers: Container[] } }).spec.containers[0]!;
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        expect(probeTarget(probe).port).toBe(config.http!.port);
        expect(container.ports.map((p) => p.containerPort)).toContain(config.http!.port);
      }
    } finally {
      delete process.env['LOADBAY_HTTP_TOKEN'];
    }
  });

  it('the probes ask the paths a running daemon answers, with the bearer token it requires', async () => {
    const all = await manifests();
    const container = (all.find((m) => m.kind === 'Deployment')!.spec!['template'] as { spec: { containers: Container[] } }).spec.containers[0]!;
    env = await createTestEnv({ datasets: {} });
    const token = 'k8s-probe-token-0123456789';
    process.env['LOADBAY_HTTP_TOKEN'] = token; // the daemon requires it, as in the pod
    const daemon = await env.start().finally(() => delete process.env['LOADBAY_HTTP_TOKEN']);
    expect((await fetch(`${daemon.httpUrl}/readyz`)).status).toBe(401);
    for (const [kind, probe] of [['liveness', container.livenessProbe], ['readiness', container.readinessProbe]] as const) {
      const { path: route } = probeTarget(probe);
      expect(route).toBe(kind === 'liveness' ? '/livez' : '/readyz');
      const answer = await fetch(`${daemon.httpUrl}${route}`, { headers: { authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(200);
      // The command is what the kubelet runs: the same node, the same script, pointed at this daemon.
      const command = probe.exec!.command.map((part) => part.replace(/http:\/\/127\.0\.0\.1:\d+/, daemon.httpUrl!));
      // Asynchronously: the daemon answers from this very process.
      const exit = await new Promise<number | null>((resolve) => {
        execFile(process.execPath, command.slice(1), { env: { ...process.env, LOADBAY_HTTP_TOKEN: token }, timeout: 20_000 }, (error) => resolve(error ? ((error as { code?: number }).code ?? -1) : 0));
      });
      expect(exit).toBe(0);
    }
  });
});
