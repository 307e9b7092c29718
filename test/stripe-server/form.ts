import type { StripeServerLimits } from './limits.js';

/**
 * Stripe's v1 form encoding, decoded: `metadata[order_id]=o1&payment_method_types[0]=card` becomes
 * `{ metadata: { order_id: 'o1' }, payment_method_types: ['card'] }`.
 *
 * - Brackets nest: `a[b][c]=v`. Brackets may arrive percent-encoded (`%5B`); the SDK sends them bare.
 * - Arrays come two ways and both are accepted: indexed (`a[0]=x&a[1]=y`, what stripe-node sends) and appended
 *   (`a[]=x&a[]=y`, what curl users write). An object whose keys are all decimal integers becomes an array in
 *   index order, as Stripe does.
 * - Every leaf is a string: Stripe's form carries no types, each endpoint parses integers and booleans itself.
 * - A key given twice keeps the last value (Rack's rule); a key that is both a value and a parent (`a=1&a[b]=2`)
 *   is refused, because no reading of it is safe.
 *
 * Objects are built without a prototype, so `__proto__` or `constructor` in a key is an ordinary name.
 */
export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

export type FormDecoding = { ok: true; params: FormObject } | { ok: false; message: string; param?: string };

type FormLimits = Pick<StripeServerLimits, 'paramsCountMax' | 'paramKeyLengthMax' | 'paramDepthMax' | 'paramValueLengthMax'>;

/** A key: a name, then any number of `[segment]`s (an empty segment appends to an array). */
const keyPattern = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

export function decodeForm(text: string, limits: FormLimits): FormDecoding {
  const root: FormObject = Object.create(null);
  let count = 0;
  for (const [rawKey, value] of new URLSearchParams(text)) {
    count += 1;
    if (count > limits.paramsCountMax) return { ok: false, message: `Too many parameters: at most ${limits.paramsCountMax} are accepted.` };
    const segments = parseKey(rawKey);
    if (segments === null) return { ok: false, message: `Invalid parameter name: ${rawKey}`, param: rawKey };
    if (rawKey.length > limits.paramKeyLengthMax) {
      return { ok: false, message: `Parameter names are at most ${limits.paramKeyLengthMax} characters.`, param: rawKey };
    }
    if (segments.length > limits.paramDepthMax) {
      return { ok: false, message: `Parameters nest at most ${limits.paramDepthMax} levels deep.`, param: rawKey };
    }
    if (value.length > limits.paramValueLengthMax) {
      return { ok: false, message: `Invalid string: ${value.slice(0, 20)}...; must be at most ${limits.paramValueLengthMax} characters`, param: rawKey };
    }
    if (!assign(root, segments, value)) return { ok: false, message: `Invalid params: ${rawKey} conflicts with another parameter.`, param: rawKey };
  }
  return { ok: true, params: arraysFromIndexes(root) as FormObject };
}

function parseKey(rawKey: string): string[] | null {
  const m = keyPattern.exec(rawKey);
  if (m === null) return null;
  const rest = m[2]!;
  const segments = [m[1]!];
  for (const s of rest.matchAll(/\[([^[\]]*)\]/g)) segments.push(s[1]!);
  // An append (`[]`) is only understood at the end: `a[][b]` has no single meaning.
  if (segments.slice(0, -1).some((s, i) => i > 0 && s === '')) return null;
  return segments;
}

/** Puts `value` at `segments` under `root`; false when the path crosses a value of another kind. */
function assign(root: FormObject, segments: string[], value: string): boolean {
  let node: FormObject | FormValue[] = root;
  for (let i = 0; i < segments.length; i += 1) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (Array.isArray(node)) {
      // Only an append reaches an array, and only as the last segment (parseKey's rule).
      node.push(value);
      return true;
    }
    const next = segments[i + 1];
    if (last) {
      const existing = node[seg];
      if (existing !== undefined && typeof existing !== 'string') return false;
      node[seg] = value;
      return true;
    }
    const existing: FormValue | undefined = node[seg];
    if (existing === undefined) {
      const child: FormObject | FormValue[] = next === '' ? [] : Object.create(null);
      node[seg] = child;
      node = child;
    } else if (typeof existing === 'string' || (next === '') !== Array.isArray(existing)) {
      return false;
    } else {
      node = existing;
    }
  }
  return true;
}

function arraysFromIndexes(value: FormValue): FormValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(arraysFromIndexes);
  const keys = Object.keys(value);
  if (keys.length > 0 && keys.every((k) => /^(0|[1-9][0-9]{0,8})$/.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => arraysFromIndexes(value[k]!));
  }
  const out: FormObject = Object.create(null);
  for (const k of keys) out[k] = arraysFromIndexes(value[k]!);
  return out;
}
