import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * What the deployment tests read: the YAML files of deploy/ and docker-compose.yml, parsed the way Compose and
 * kubectl read them (YAML merge keys on, duplicate keys an error), README's table of environment variables and the
 * placeholders operators fill in. Shared by manifests.test.ts and render.test.ts.
 */
export const repoRoot = join(__dirname, '..', '..', '..');
export const deployDir = join(repoRoot, 'deploy');
export const kubernetesDir = join(deployDir, 'kubernetes');
export const composeFile = join(repoRoot, 'docker-compose.yml');

/** A placeholder operators replace before applying a manifest: `${BOXOFFICE_…}` (envsubst syntax). */
export const placeholderPattern = /\$\{(BOXOFFICE_[A-Z0-9_]+)\}/g;

export type Yaml = Record<string, unknown>;

export interface YamlFile {
  /** Path relative to the repository root, for messages. */
  name: string;
  /** Every document of the file, as plain data. */
  docs: Yaml[];
}

/** Every .yml/.yaml file under `dir`, recursively, sorted. */
export function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...yamlFilesUnder(path));
    else if (/\.ya?ml$/.test(entry)) out.push(path);
  }
  return out;
}

/** Parses YAML text (every document); throws with the file's name and the parser's messages on any error. */
export function parseYaml(text: string, name: string): Yaml[] {
  const docs = parseAllDocuments(text, { merge: true, uniqueKeys: true });
  if (!Array.isArray(docs)) throw new Error(`${name}: no YAML document`);
  const problems = docs.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message));
  if (problems.length > 0) throw new Error(`${name}: ${problems.join('; ')}`);
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }) as Yaml).filter((d) => d !== null && d !== undefined);
}

export function readYamlFile(path: string): YamlFile {
  const name = relative(repoRoot, path);
  return { name, docs: parseYaml(readFileSync(path, 'utf8'), name) };
}

/** The Kubernetes objects of deploy/kubernetes/, each with the file it came from. */
export function kubernetesObjects(texts?: Map<string, string>): { file: string; obj: Yaml }[] {
  const sources = texts ?? new Map(yamlFilesUnder(kubernetesDir).map((p) => [relative(repoRoot, p), readFileSync(p, 'utf8')]));
  return [...sources].flatMap(([file, text]) => parseYaml(text, file).map((obj) => ({ file, obj })));
}

/** The one object of `kind` named `name` (or the only one of its kind). */
export function objectOf(objects: { obj: Yaml }[], kind: string, name?: string): Yaml {
  const found = objects.map((o) => o.obj).filter((o) => o.kind === kind && (name === undefined || meta(o).name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

export function meta(obj: Yaml): { name?: unknown; labels?: Record<string, string> } {
  return (obj.metadata ?? {}) as { name?: unknown; labels?: Record<string, string> };
}

/** Walks a parsed document down `path`; undefined as soon as a step is missing. */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let v = value;
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[step];
  }
  return v;
}

/** README's "Configuration" table: every environment variable a node reads. */
export function readmeEnvNames(): Set<string> {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration'));
  if (section === undefined) throw new Error('README.md has no "Configuration" section');
  const names = new Set<string>();
  for (const m of section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)) names.add(m[1]!);
  return names;
}

/** Compose's variable interpolation, the forms docker-compose.yml uses: `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `$$`. */
export function interpolateCompose(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}/g, (whole, name: string | undefined, colon: string | undefined, dflt: string | undefined) => {
    if (whole === '$$') return '$';
    const value = vars[name!];
    if (dflt === undefined) {
      if (value === undefined) throw new Error(`\${${name}} has no value and no default`);
      return value;
    }
    if (value === undefined || (colon === ':' && value === '')) return dflt;
    return value;
  });
}

/** The Compose services that run boxoffice: the ones built from the repository's Dockerfile. */
export function composeNodeServices(compose: Yaml): [string, Yaml][] {
  const services = (compose.services ?? {}) as Record<string, Yaml>;
  return Object.entries(services).filter(([, s]) => s.build === '.' || at(s, 'build', 'context') === '.');
}

/** A duration in Compose's syntax (`45s`, `1m30s`, `500ms`) in milliseconds. */
export function composeDurationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001 };
  let total = 0;
  let rest = text;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)) {
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.replace(m[0], '');
  }
  if (rest !== '' || total === 0) throw new Error(`not a Compose duration: ${text}`);
  return total;
}
