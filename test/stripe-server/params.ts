import { invalidRequest, parameterMissing, parameterUnknown, type ApiResponse } from './errors.js';
import type { FormObject, FormValue } from './form.js';
import type { StripeServerLimits } from './limits.js';

/**
 * Reading an endpoint's parameters the way Stripe validates them: unknown names, missing required ones, integers,
 * booleans, enums, string lengths and metadata, each refused with Stripe's message, `param` and `code`. A refusal
 * here happens before the endpoint executes, so it is never stored under an idempotency key (Stripe's rule).
 *
 * `readParams` runs a reading function; the reader stops at the first refusal (as Stripe reports one error at a
 * time) by throwing a private value that `readParams` turns back into a returned result, so no exception leaves
 * this module.
 */
export type Validation<T> = { ok: true; input: T } | { ok: false; response: ApiResponse };

class Refusal {
  constructor(readonly response: ApiResponse) {}
}

export function readParams<T>(params: FormObject, allowed: readonly string[], read: (r: ParamReader) => T, limits: StripeServerLimits): Validation<T> {
  const unknown = Object.keys(params).find((k) => !allowed.includes(k));
  if (unknown !== undefined) return { ok: false, response: parameterUnknown(unknown) };
  try {
    return { ok: true, input: read(new ParamReader(params, limits)) };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, response: e.response };
    throw e;
  }
}

export class ParamReader {
  constructor(
    private readonly params: FormObject,
    private readonly limits: StripeServerLimits,
  ) {}

  refuse(response: ApiResponse): never {
    throw new Refusal(response);
  }

  has(name: string): boolean {
    return this.params[name] !== undefined;
  }

  string(name: string): string | undefined {
    const v = this.params[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.refuse(invalidRequest(`Invalid string: ${describe(v)}`, { param: name }));
    return v;
  }

  requiredString(name: string): string {
    const v = this.string(name);
    if (v === undefined || v === '') this.refuse(parameterMissing(name));
    return v;
  }

  /** A whole number of at least `min`; Stripe's wording for both kinds of refusal. */
  integer(name: string, min: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^-?[0-9]{1,15}$/.test(v)) this.refuse(invalidRequest(`Invalid integer: ${v}`, { param: name, code: 'parameter_invalid_integer' }));
    const n = Number(v);
    if (n < min) this.refuse(invalidRequest(`This value must be greater than or equal to ${min}.`, { param: name, code: 'parameter_invalid_integer' }));
    return n;
  }

  requiredInteger(name: string, min: number): number {
    const n = this.integer(name, min);
    if (n === undefined) this.refuse(parameterMissing(name));
    return n;
  }

  boolean(name: string): boolean | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') this.refuse(invalidRequest(`Invalid boolean: ${v}`, { param: name }));
    return v === 'true';
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) this.refuse(invalidRequest(`Invalid ${name}: must be one of ${listOf(values)}`, { param: name }));
    return v as T;
  }

  /** A nested object such as automatic_payment_methods, read with its own allowed names. */
  object(name: string, allowed: readonly string[]): ParamReader | undefined {
    const v = this.params[name];
    if (v === undefined) return undefined;
    if (typeof v === 'string' || Array.isArray(v)) this.refuse(invalidRequest(`Invalid object`, { param: name }));
    const unknown = Object.keys(v).find((k) => !allowed.includes(k));
    if (unknown !== undefined) this.refuse(parameterUnknown(`${name}[${unknown}]`));
    return new ParamReader(v, this.limits);
  }

  stringArray(name: string): string[] | undefined {
    const v = this.params[name];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.refuse(invalidRequest(`Invalid array`, { param: name }));
    return v as string[];
  }

  /** Metadata as Stripe limits it: string values, at most 50 keys of 40 characters, values of 500. */
  metadata(): Record<string, string> {
    const v = this.params.metadata;
    if (v === undefined || v === '') return {};
    if (typeof v === 'string' || Array.isArray(v)) this.refuse(invalidRequest('Invalid object', { param: 'metadata' }));
    const out: Record<string, string> = {};
    const keys = Object.keys(v);
    if (keys.length > this.limits.metadataKeysMax) {
      this.refuse(invalidRequest(`Metadata can have at most ${this.limits.metadataKeysMax} keys.`, { param: 'metadata' }));
    }
    for (const key of keys) {
      const value = v[key]!;
      const param = `metadata[${key}]`;
      if (typeof value !== 'string') this.refuse(invalidRequest(`Invalid string: ${describe(value)}`, { param }));
      if (key.length > this.limits.metadataKeyLengthMax) {
        this.refuse(invalidRequest(`Metadata keys can be at most ${this.limits.metadataKeyLengthMax} characters long.`, { param }));
      }
      if (value.length > this.limits.metadataValueLengthMax) {
        this.refuse(invalidRequest(`Metadata values can be at most ${this.limits.metadataValueLengthMax} characters long.`, { param }));
      }
      // An empty value unsets a key on update; on create it simply adds nothing.
      if (value !== '') out[key] = value;
    }
    return out;
  }

  /** `expand[]`: only the paths listed are expandable here; Stripe's message for anything else. */
  expand(expandable: readonly string[]): string[] {
    const paths = this.stringArray('expand') ?? [];
    const wrong = paths.find((p) => !expandable.includes(p));
    if (wrong !== undefined) this.refuse(invalidRequest(`This property cannot be expanded (${wrong}).`, { param: 'expand' }));
    return paths;
  }
}

function describe(v: FormValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v).slice(0, 40);
}

function listOf(values: readonly string[]): string {
  return values.length <= 1 ? values.join('') : `${values.slice(0, -1).join(', ')}, or ${values[values.length - 1]}`;
}
