import { readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeLimits, transportLimits } from '../../../src/config/limits.js';
import { exportedMetricNames } from './exported-metrics.js';
import {
  at,
  composeDurationMs,
  composeFile,
  composeNodeServices,
  deployDir,
  kubernetesObjects,
  meta,
  objectOf,
  readYamlFile,
  readmeEnvNames,
  repoRoot,
  yamlFilesUnder,
  type Yaml,
} from './deploy-files.js';

/**
 * The deployment files (issue 13, "Deployment") checked without Docker or a Kubernetes cluster: they parse, each
 * Kubernetes object is well-formed for its kind, the StatefulSet probes, stops and reads its secrets the way the
 * node expects, every variable they set is one README documents, and Compose, Prometheus and Grafana point at each
 * other. kubeconform and the API server's schemas are not available here; these are the checks that catch what
 * drifts when the code changes.
 */

/** apiVersion of every kind the manifests may use. */
const apiVersions: Record<string, string> = {
  StatefulSet: 'apps/v1',
  Service: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  PodDisruptionBudget: 'policy/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
};

/** Variables whose values are secrets: the StatefulSet must take them from a Secret, never inline. */
const secretVariables = ['ADMIN_TOKEN', 'CLUSTER_SECRET', 'DATABASE_URL', 'REDIS_URL', 'STRIPE_API_KEY', 'STRIPE_WEBHOOK_SECRET'];

interface EnvVar {
  name: string;
  value?: unknown;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string }; configMapKeyRef?: unknown };
}
interface ContainerPort {
  name?: string;
  containerPort: number;
}

const objects = kubernetesObjects();
const statefulSet = objectOf(objects, 'StatefulSet');
const podSpec = at(statefulSet, 'spec', 'template', 'spec') as Yaml;
const container = (podSpec.containers as Yaml[])[0]!;
const env = (container.env ?? []) as EnvVar[];
const envNamed = (name: string): EnvVar | undefined => env.find((e) => e.name === name);
const ports = (container.ports ?? []) as ContainerPort[];
const portNamed = (name: string): number | undefined => ports.find((p) => p.name === name)?.containerPort;
const podLabels = at(statefulSet, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
const configMapNames = ((container.envFrom ?? []) as { configMapRef?: { name: string } }[]).flatMap((e) => (e.configMapRef ? [e.configMapRef.name] : []));
const configMaps = configMapNames.map((name) => objectOf(objects, 'ConfigMap', name));

const compose = readYamlFile(composeFile).docs[0]!;
const nodeServices = composeNodeServices(compose);
const composeServices = compose.services as Record<string, Yaml>;

/** Whether every label of `selector` is on the pods. */
const selects = (selector: unknown): boolean =>
  selector !== null && typeof selector === 'object' && Object.entries(selector as Record<string, string>).every(([k, v]) => podLabels[k] === v);

/** A probe's or Service's port, resolved by name against the container's ports. */
const resolvePort = (port: unknown): number | undefined => (typeof port === 'number' ? port : portNamed(String(port)));

describe('deployment files', () => {
  it('parses every YAML file in deploy/ and docker-compose.yml', () => {
    const files = [...yamlFilesUnder(deployDir), composeFile];
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) expect(readYamlFile(file).docs.length, file).toBeGreaterThan(0);
  });

  it('gives every Kubernetes object an apiVersion, a kind and a metadata.name, with the apiVersion of its kind', () => {
    expect(objects.map((o) => o.obj.kind).sort()).toEqual(['ConfigMap', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service', 'Service', 'StatefulSet']);
    for (const { file, obj } of objects) {
      const kind = obj.kind as string;
      expect(typeof meta(obj).name, `${file}: ${kind}`).toBe('string');
      expect(obj.apiVersion, `${file}: ${kind} ${String(meta(obj).name)}`).toBe(apiVersions[kind]);
    }
    const keys = objects.map((o) => `${String(o.obj.kind)}/${String(meta(o.obj).name)}`);
    expect(new Set(keys).size, 'kind/name pairs are unique').toBe(keys.length);
  });

  it('writes ConfigMap data, Secret stringData and env values as strings, which is all Kubernetes accepts', () => {
    for (const { file, obj } of objects) {
      for (const field of ['data', 'stringData']) {
        for (const [k, v] of Object.entries((obj[field] ?? {}) as Record<string, unknown>)) expect(typeof v, `${file}: ${k}`).toBe('string');
      }
    }
    for (const e of env) if ('value' in e) expect(typeof e.value, e.name).toBe('string');
  });

  it('has no env var that the README does not document, in the manifests or the Compose file', () => {
    const documented = readmeEnvNames();
    expect(documented.size).toBeGreaterThan(30);
    const used = [
      ...env.map((e) => `statefulset.yaml: ${e.name}`),
      ...configMaps.flatMap((cm) => Object.keys((cm.data ?? {}) as object).map((k) => `ConfigMap ${String(meta(cm).name)}: ${k}`)),
      ...objects.filter((o) => o.obj.kind === 'Secret').flatMap((o) => Object.keys((o.obj.stringData ?? {}) as object).map((k) => `Secret ${String(meta(o.obj).name)}: ${k}`)),
      ...nodeServices.flatMap(([svc, s]) => Object.keys((s.environment ?? {}) as object).map((k) => `docker-compose.yml ${svc}: ${k}`)),
    ];
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((u) => !documented.has(u.split(': ')[1]!))).toEqual([]);
  });
});

describe('the StatefulSet', () => {
  it('probes readiness on /readyz and liveness on /healthz, on the port the node serves HTTP on', () => {
    const httpPort = Number(envNamed('PORT')?.value);
    expect(portNamed('http')).toBe(httpPort);
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
    expect(resolvePort(at(container, 'readinessProbe', 'httpGet', 'port'))).toBe(httpPort);
    expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe('/healthz');
    expect(resolvePort(at(container, 'livenessProbe', 'httpGet', 'port'))).toBe(httpPort);
  });

  it('names each node after its pod, advertises the pod IP and listens for peers on its declared port', () => {
    expect(envNamed('NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(envNamed('NODE_HOST')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
    expect(portNamed('peer')).toBe(Number(envNamed('NODE_PORT')?.value));
    // Nothing forwards the port, so the node must advertise the one it listens on.
    expect(envNamed('NODE_ADVERTISE_PORT')).toBeUndefined();
  });

  it('takes every secret from a Secret that exists, never inline and never from the ConfigMap', () => {
    for (const name of secretVariables) {
      const e = envNamed(name);
      expect(e, name).toBeDefined();
      expect(e!.value, name).toBeUndefined();
      const ref = e!.valueFrom?.secretKeyRef;
      expect(ref, name).toBeDefined();
      // A missing Secret must stop the pod from starting, not start a node without its secret.
      expect((ref as { optional?: boolean }).optional, name).not.toBe(true);
      const secret = objectOf(objects, 'Secret', ref!.name);
      expect(Object.keys((secret.stringData ?? secret.data ?? {}) as object), `${ref!.name} holds ${ref!.key}`).toContain(ref!.key);
      for (const cm of configMaps) expect(Object.keys((cm.data ?? {}) as object), `ConfigMap ${String(meta(cm).name)}`).not.toContain(name);
    }
  });

  it('gives a stopping node longer than its drain bound from src/config/limits.ts, preStop wait included', () => {
    const preStop = at(container, 'lifecycle', 'preStop', 'exec', 'command') as string[];
    expect(preStop[0]).toBe('sleep');
    const preStopMs = Number(preStop[1]) * 1000;
    // main.ts on SIGTERM → node.close(): running checkouts (closeDrainMs), then leaving the cluster: the transport
    // server's and the peer clients' drains (closeDrainMsMax each) and the socket linger.
    const stopMs = nodeLimits.closeDrainMs + 2 * transportLimits.closeDrainMsMax + transportLimits.closeLingerMs;
    const graceMs = Number(podSpec.terminationGracePeriodSeconds) * 1000;
    expect(graceMs).toBeGreaterThan(preStopMs + stopMs);
  });

  it('is governed by a headless Service that publishes pods before they are ready, and served by an HTTP Service', () => {
    const peers = objectOf(objects, 'Service', at(statefulSet, 'spec', 'serviceName') as string);
    expect(at(peers, 'spec', 'clusterIP')).toBe('None');
    expect(at(peers, 'spec', 'publishNotReadyAddresses')).toBe(true);
    expect(selects(at(peers, 'spec', 'selector'))).toBe(true);
    expect((at(peers, 'spec', 'ports') as { targetPort: unknown }[]).map((p) => resolvePort(p.targetPort))).toEqual([portNamed('peer')]);

    const http = objects.map((o) => o.obj).find((o) => o.kind === 'Service' && o !== peers)!;
    expect(at(http, 'spec', 'clusterIP')).toBeUndefined();
    expect(selects(at(http, 'spec', 'selector'))).toBe(true);
    expect((at(http, 'spec', 'ports') as { targetPort: unknown }[]).map((p) => resolvePort(p.targetPort))).toEqual([portNamed('http')]);
  });

  it('selects its own pods, as do the PodDisruptionBudget and the NetworkPolicy', () => {
    expect(selects(at(statefulSet, 'spec', 'selector', 'matchLabels'))).toBe(true);
    const pdb = objectOf(objects, 'PodDisruptionBudget');
    expect(selects(at(pdb, 'spec', 'selector', 'matchLabels'))).toBe(true);
    expect(at(pdb, 'spec', 'maxUnavailable')).toBe(1);
    expect(Number(at(statefulSet, 'spec', 'replicas'))).toBeGreaterThanOrEqual(3);
    expect(selects(at(objectOf(objects, 'NetworkPolicy'), 'spec', 'podSelector', 'matchLabels'))).toBe(true);
  });
});

describe('docker-compose.yml', () => {
  const nodeEnv = (s: Yaml) => s.environment as Record<string, string>;

  it('runs three nodes built from the Dockerfile, each with its own NODE_ID and its service name as NODE_HOST', () => {
    expect(nodeServices).toHaveLength(3);
    const ids = nodeServices.map(([, s]) => nodeEnv(s).NODE_ID);
    expect(new Set(ids).size).toBe(3);
    for (const [name, s] of nodeServices) expect(nodeEnv(s).NODE_HOST, name).toBe(name);
  });

  it('shares one database, Redis, admin token and cluster secret, on services of the file that are healthy first', () => {
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'ADMIN_TOKEN', 'CLUSTER_SECRET', 'CLUSTER_NAME']) {
      expect(new Set(nodeServices.map(([, s]) => nodeEnv(s)[key])).size, key).toBe(1);
    }
    const [, first] = nodeServices[0]!;
    for (const key of ['DATABASE_URL', 'REDIS_URL']) {
      const host = new URL(nodeEnv(first)[key]!.replace(/\$\{[^}]*\}/g, 'x')).hostname;
      expect(Object.keys(composeServices), key).toContain(host);
      expect(at(first, 'depends_on', host, 'condition'), key).toBe('service_healthy');
      expect(at(composeServices[host], 'healthcheck', 'test'), `${host} healthcheck`).toBeDefined();
    }
  });

  it('lets a stopping node drain before Docker kills it', () => {
    const stopMs = nodeLimits.closeDrainMs + 2 * transportLimits.closeDrainMsMax + transportLimits.closeLingerMs;
    for (const [name, s] of nodeServices) expect(composeDurationMs(String(s.stop_grace_period)), name).toBeGreaterThan(stopMs);
  });

  it('has Prometheus scrape exactly the nodes, each on its HTTP port', () => {
    const prometheus = readYamlFile(join(deployDir, 'prometheus', 'prometheus.yml')).docs[0]!;
    const job = (prometheus.scrape_configs as Yaml[]).find((j) => j.job_name === 'boxoffice')!;
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    const targets = (job.static_configs as { targets: string[] }[]).flatMap((c) => c.targets);
    const expected = nodeServices.map(([name, s]) => `${name}:${nodeEnv(s).PORT}`);
    expect(targets.sort()).toEqual(expected.sort());
    const mounts = composeServices.prometheus!.volumes as string[];
    expect(mounts).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
  });
});

describe('Grafana provisioning', () => {
  const grafanaDir = join(deployDir, 'grafana');
  const mounts = (composeServices.grafana!.volumes as string[]).map((v) => v.split(':'));
  const targetOf = (source: string) => mounts.find(([src]) => src === source)?.[1];

  it('provisions the Prometheus of the Compose file as a datasource, mounted where Grafana reads provisioning', () => {
    expect(targetOf('./deploy/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const ds = readYamlFile(join(grafanaDir, 'provisioning', 'datasources', 'prometheus.yml')).docs[0]!;
    expect(ds.apiVersion).toBe(1);
    const [source] = ds.datasources as Yaml[];
    expect(source!.type).toBe('prometheus');
    expect(new URL(String(source!.url)).hostname).toBe('prometheus');
    expect(Object.keys(composeServices)).toContain('prometheus');
  });

  it('points the dashboard provider at the folder where Compose mounts deploy/grafana/dashboards', () => {
    const provider = readYamlFile(join(grafanaDir, 'provisioning', 'dashboards', 'boxoffice.yml')).docs[0]!;
    expect(provider.apiVersion).toBe(1);
    const [entry] = provider.providers as Yaml[];
    expect(entry!.type).toBe('file');
    expect(posix.normalize(String(at(entry, 'options', 'path')))).toBe(targetOf('./deploy/grafana/dashboards'));
    expect(readdirSync(join(grafanaDir, 'dashboards')).filter((f) => f.endsWith('.json')).length).toBeGreaterThan(0);
  });

  it('has dashboards that query only metrics a node exports, through the provisioned datasource', async () => {
    const ds = readYamlFile(join(grafanaDir, 'provisioning', 'datasources', 'prometheus.yml')).docs[0]!;
    const uid = ((ds.datasources as Yaml[])[0]!).uid;
    const exported = await exportedMetricNames();
    for (const file of readdirSync(join(grafanaDir, 'dashboards')).filter((f) => f.endsWith('.json'))) {
      const dashboard = JSON.parse(readFileSync(join(grafanaDir, 'dashboards', file), 'utf8')) as { uid: string; title: string; panels: Yaml[] };
      expect(dashboard.uid, file).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
      expect(dashboard.title, file).toBeTruthy();
      expect(dashboard.panels.length, file).toBeGreaterThan(0);
      for (const panel of dashboard.panels) {
        const targets = (panel.targets ?? []) as { expr: string; datasource?: { uid: string } }[];
        for (const t of targets) {
          expect(t.datasource?.uid ?? at(panel, 'datasource', 'uid'), `${file}: ${String(panel.title)}`).toBe(uid);
          for (const m of t.expr.matchAll(/\b(?:boxoffice|nodejs|process)_[a-z0-9_]+/g)) {
            expect(exported, `${file}: ${String(panel.title)}: ${m[0]}`).toContain(m[0].replace(/_(bucket|sum|count)$/, ''));
          }
        }
      }
    }
  });
});

describe('docs/operations.md', () => {
  it('lists every variable of README\'s table among the tuning knobs', () => {
    const ops = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');
    const knobs = ops.split(/^## /m).find((s) => s.startsWith('Tuning knobs'));
    expect(knobs, 'a "Tuning knobs" section').toBeDefined();
    const listed = new Set([...knobs!.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]));
    expect([...readmeEnvNames()].filter((n) => !listed.has(n))).toEqual([]);
  });
});
