/**
 * A small JSON Schema (2020-12) checker for the keywords zod's toJSONSchema writes, which is all the OpenAPI
 * document of GET /openapi.json uses. A keyword it does not know is reported as a problem rather than skipped, so a
 * schema it cannot check never passes silently. `$ref` resolves JSON pointers into `root` ('#/components/...').
 */

export type Schema = Record<string, unknown>;

/** Keywords that describe and never constrain. */
const annotations = new Set(['description', 'title', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'format', 'id', '$schema', '$comment']);
const checked = new Set([
  'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'minItems', 'maxItems',
  'anyOf', 'oneOf', 'allOf', 'not', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', '$ref',
]);

/** Every way `value` breaks `schema`, as `<json path>: <reason>`; empty when it conforms. */
export function schemaProblems(schema: Schema | boolean, value: unknown, root: Schema = {}, at = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${at}: no value is allowed here`];
  const problems: string[] = [];
  for (const key of Object.keys(schema)) {
    if (!checked.has(key) && !annotations.has(key) && !key.startsWith('x-')) problems.push(`${at}: the checker does not know the keyword '${key}'`);
  }
  if (typeof schema['$ref'] === 'string') problems.push(...schemaProblems(resolve(root, schema['$ref']), value, root, at));
  if (schema['type'] !== undefined && !typeMatches(schema['type'] as string | string[], value)) {
    return [...problems, `${at}: expected ${String(schema['type'])}, got ${describe(value)}`];
  }
  if (Array.isArray(schema['enum']) && !schema['enum'].some((e) => deepEqual(e, value))) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema['enum'])}`);
  if ('const' in schema && !deepEqual(schema['const'], value)) problems.push(`${at}: expected ${JSON.stringify(schema['const'])}, got ${JSON.stringify(value)}`);
  problems.push(...combinatorProblems(schema, value, root, at));
  if (typeof value === 'string') problems.push(...stringProblems(schema, value, at));
  if (typeof value === 'number') problems.push(...numberProblems(schema, value, at));
  if (Array.isArray(value)) problems.push(...arrayProblems(schema, value, root, at));
  else if (typeof value === 'object' && value !== null) problems.push(...objectProblems(schema, value as Record<string, unknown>, root, at));
  return problems;
}

function combinatorProblems(schema: Schema, value: unknown, root: Schema, at: string): string[] {
  const problems: string[] = [];
  const passing = (list: unknown) => (list as Schema[]).filter((s) => schemaProblems(s, value, root, at).length === 0).length;
  if (Array.isArray(schema['allOf'])) for (const s of schema['allOf'] as Schema[]) problems.push(...schemaProblems(s, value, root, at));
  if (Array.isArray(schema['anyOf']) && passing(schema['anyOf']) === 0) problems.push(`${at}: ${describe(value)} matches none of anyOf`);
  if (Array.isArray(schema['oneOf']) && passing(schema['oneOf']) !== 1) problems.push(`${at}: ${describe(value)} matches ${passing(schema['oneOf'])} of oneOf, not exactly one`);
  if (schema['not'] !== undefined && schemaProblems(schema['not'] as Schema, value, root, at).length === 0) problems.push(`${at}: matches a schema it must not`);
  return problems;
}

function stringProblems(schema: Schema, value: string, at: string): string[] {
  const problems: string[] = [];
  const length = [...value].length;
  if (typeof schema['minLength'] === 'number' && length < schema['minLength']) problems.push(`${at}: shorter than ${schema['minLength']}`);
  if (typeof schema['maxLength'] === 'number' && length > schema['maxLength']) problems.push(`${at}: longer than ${schema['maxLength']}`);
  if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) problems.push(`${at}: ${JSON.stringify(value)} does not match /${schema['pattern']}/`);
  return problems;
}

function numberProblems(schema: Schema, value: number, at: string): string[] {
  const problems: string[] = [];
  const bound = (k: string) => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
  const [min, max, xmin, xmax] = [bound('minimum'), bound('maximum'), bound('exclusiveMinimum'), bound('exclusiveMaximum')];
  if (min !== undefined && value < min) problems.push(`${at}: ${value} < minimum ${min}`);
  if (max !== undefined && value > max) problems.push(`${at}: ${value} > maximum ${max}`);
  if (xmin !== undefined && value <= xmin) problems.push(`${at}: ${value} <= exclusiveMinimum ${xmin}`);
  if (xmax !== undefined && value >= xmax) problems.push(`${at}: ${value} >= exclusiveMaximum ${xmax}`);
  return problems;
}

function arrayProblems(schema: Schema, value: unknown[], root: Schema, at: string): string[] {
  const problems: string[] = [];
  if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) problems.push(`${at}: fewer than ${schema['minItems']} items`);
  if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) problems.push(`${at}: more than ${schema['maxItems']} items`);
  if (schema['items'] !== undefined) value.forEach((v, i) => problems.push(...schemaProblems(schema['items'] as Schema, v, root, `${at}[${i}]`)));
  return problems;
}

function objectProblems(schema: Schema, value: Record<string, unknown>, root: Schema, at: string): string[] {
  const problems: string[] = [];
  const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
  for (const name of (schema['required'] ?? []) as string[]) if (!(name in value)) problems.push(`${at}: missing required '${name}'`);
  for (const [name, v] of Object.entries(value)) {
    const path = `${at}.${name}`;
    if (schema['propertyNames'] !== undefined) problems.push(...schemaProblems(schema['propertyNames'] as Schema, name, root, `${path} (name)`));
    if (name in properties) problems.push(...schemaProblems(properties[name]!, v, root, path));
    else if (schema['additionalProperties'] !== undefined) {
      const extra = schema['additionalProperties'] as Schema | boolean;
      problems.push(...(extra === false ? [`${path}: not a documented property`] : schemaProblems(extra, v, root, path)));
    }
  }
  return problems;
}

function typeMatches(type: string | string[], value: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  return types.some((t) => {
    switch (t) {
      case 'null': return value === null;
      case 'boolean': return typeof value === 'boolean';
      case 'string': return typeof value === 'string';
      case 'number': return typeof value === 'number' && Number.isFinite(value);
      case 'integer': return typeof value === 'number' && Number.isInteger(value);
      case 'array': return Array.isArray(value);
      case 'object': return typeof value === 'object' && value !== null && !Array.isArray(value);
      default: throw new Error(`unknown JSON Schema type '${t}'`);
    }
  });
}

/** '#/components/responses/X' → that node of the root document. */
export function resolve(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`only local references are supported: ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (typeof node !== 'object' || node === null) throw new Error(`unresolved reference ${ref}`);
  return node as Schema;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : `${typeof value} ${JSON.stringify(value)?.slice(0, 60)}`;
}
