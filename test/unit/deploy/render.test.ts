import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import {
  at,
  composeFile,
  composeNodeServices,
  interpolateCompose,
  kubernetesDir,
  kubernetesObjects,
  objectOf,
  parseYaml,
  placeholderPattern,
  repoRoot,
  yamlFilesUnder,
  type Yaml,
} from './deploy-files.js';

/**
 * The render test: fill in what docs/operations.md tells an operator to fill in, the way it says to (envsubst for
 * the Kubernetes placeholders, Compose's own interpolation for docker-compose.yml), and check the result parses,
 * keeps every value exactly, leaves no placeholder, and gives each node an environment that its own configuration
 * loader (src/config/config.ts) accepts.
 */

/** Values as an operator would make them; the tokens carry `+`, `/` and `=` to prove the quoting holds them. */
const values: Record<string, string> = {
  BOXOFFICE_IMAGE: 'registry.example.com/shop/boxoffice:2026-12-07',
  BOXOFFICE_ADMIN_TOKEN: 'q7+Xr/2kLw9=Zp4MvT8sYb1N',
  BOXOFFICE_CLUSTER_SECRET: '3f9c2a7e+b1d/4e8a9c0f6b2d7e1a3c5f8b0d2e4a6c8e0f2a4c6e8',
  BOXOFFICE_DATABASE_URL: 'postgresql://boxoffice:p%40ss%3Aw0rd@db.internal:5432/boxoffice?sslmode=require',
  BOXOFFICE_REDIS_URL: 'rediss://:r3dis-pass@redis.internal:6380',
  BOXOFFICE_STRIPE_API_KEY: 'sk_test_51Abcdefghijklmnop',
  BOXOFFICE_STRIPE_WEBHOOK_SECRET: 'whsec_Abc123def456ghi789',
};

/** envsubst with a variable list (`envsubst '$A $B'`): replaces `${NAME}` and `$NAME` for the listed names only. */
const envsubst = (text: string, names: readonly string[]): string =>
  text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    return names.includes(name) && values[name] !== undefined ? values[name] : whole;
  });

const manifestTexts = new Map(yamlFilesUnder(kubernetesDir).map((p) => [relative(repoRoot, p), readFileSync(p, 'utf8')]));
const placeholdersIn = (text: string): string[] => [...new Set([...text.matchAll(placeholderPattern)].map((m) => m[1]!))].sort();

describe('rendering the Kubernetes manifests', () => {
  const used = placeholdersIn([...manifestTexts.values()].join('\n'));

  it('uses exactly the placeholders docs/operations.md tells operators to fill', () => {
    const ops = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');
    const documented = [...ops.matchAll(/^\| `\$\{(BOXOFFICE_[A-Z0-9_]+)\}` \|/gm)].map((m) => m[1]!).sort();
    expect(used).toEqual(documented);
    expect(used.every((name) => values[name] !== undefined)).toBe(true);
  });

  it('lists, in each file\'s envsubst command, exactly the placeholders of that file', () => {
    for (const [file, text] of manifestTexts) {
      const own = placeholdersIn(text.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n'));
      const command = text.split('\n').filter((l) => l.trimStart().startsWith('#')).join(' ');
      const listed = command.includes('envsubst') ? [...command.matchAll(/\$(BOXOFFICE_[A-Z0-9_]+)\b/g)].map((m) => m[1]!) : [];
      expect([...new Set(listed)].sort(), file).toEqual(own);
    }
  });

  it('parses after rendering, with no placeholder left and every value kept exactly', () => {
    const rendered = new Map([...manifestTexts].map(([file, text]) => [file, envsubst(text, used)]));
    for (const [file, text] of rendered) expect(placeholdersIn(text), file).toEqual([]);
    const objects = kubernetesObjects(rendered);
    expect(objects.length).toBe(kubernetesObjects().length);
    const secrets = Object.assign({}, ...objects.filter((o) => o.obj.kind === 'Secret').map((o) => o.obj.stringData)) as Record<string, string>;
    expect(secrets).toEqual({
      ADMIN_TOKEN: values.BOXOFFICE_ADMIN_TOKEN,
      CLUSTER_SECRET: values.BOXOFFICE_CLUSTER_SECRET,
      DATABASE_URL: values.BOXOFFICE_DATABASE_URL,
      REDIS_URL: values.BOXOFFICE_REDIS_URL,
      STRIPE_API_KEY: values.BOXOFFICE_STRIPE_API_KEY,
      STRIPE_WEBHOOK_SECRET: values.BOXOFFICE_STRIPE_WEBHOOK_SECRET,
    });
    expect(at(objectOf(objects, 'StatefulSet'), 'spec', 'template', 'spec', 'containers', 0, 'image')).toBe(values.BOXOFFICE_IMAGE);
  });

  it('gives a pod an environment the node accepts: cluster mode, Stripe, its pod name as NODE_ID', () => {
    const objects = kubernetesObjects(new Map([...manifestTexts].map(([file, text]) => [file, envsubst(text, used)])));
    const container = at(objectOf(objects, 'StatefulSet'), 'spec', 'template', 'spec', 'containers', 0) as Yaml;
    const pod = { 'metadata.name': 'boxoffice-2', 'status.podIP': '10.42.1.7' } as Record<string, string>;
    const env: Record<string, string> = {};
    for (const from of (container.envFrom ?? []) as { configMapRef: { name: string } }[]) {
      Object.assign(env, objectOf(objects, 'ConfigMap', from.configMapRef.name).data);
    }
    for (const e of container.env as { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }[]) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef) env[e.name] = pod[e.valueFrom.fieldRef.fieldPath]!;
      else if (e.valueFrom?.secretKeyRef) env[e.name] = (objectOf(objects, 'Secret', e.valueFrom.secretKeyRef.name).stringData as Record<string, string>)[e.valueFrom.secretKeyRef.key]!;
    }
    const config = loadConfig(env);
    expect(config).toMatchObject({ nodeId: 'boxoffice-2', nodeHost: '10.42.1.7', nodePort: 7000, port: 3000, paymentProvider: 'stripe', adminTokenGenerated: false });
    expect(config.redisUrl).toBe(values.BOXOFFICE_REDIS_URL);
    expect(config.clusterSecret).toBe(values.BOXOFFICE_CLUSTER_SECRET);
  });
});

describe('rendering docker-compose.yml', () => {
  const text = readFileSync(composeFile, 'utf8');

  it.each([
    ['its documented local defaults', {}],
    ['values from the shell or .env', { ADMIN_TOKEN: 'a-longer-admin-token-for-tests', CLUSTER_SECRET: 'c'.repeat(40), POSTGRES_PASSWORD: 'pw%2Fsecret' }],
  ])('gives every node an environment the node accepts, with %s', (_label, vars: Record<string, string>) => {
    const [compose] = parseYaml(interpolateCompose(text, vars), 'docker-compose.yml');
    const nodes = composeNodeServices(compose!);
    expect(nodes).toHaveLength(3);
    for (const [name, service] of nodes) {
      const config = loadConfig(service.environment as Record<string, string>);
      expect(config.nodeId, name).toBe(name);
      expect(config.clusterSecret, name).not.toBeNull();
      expect(config.adminTokenGenerated, name).toBe(false);
      if (vars.ADMIN_TOKEN) expect(config.adminToken).toBe(vars.ADMIN_TOKEN);
      if (vars.POSTGRES_PASSWORD) expect(config.databaseUrl).toContain(`:${vars.POSTGRES_PASSWORD}@`);
    }
  });
});
