/**
 * Small validators for untrusted data (bundle rows). Each check takes an unknown value and the path of the
 * field being checked, and returns a fresh, typed copy built field by field — or throws a FieldError that
 * names the field and says what was expected. Objects are checked strictly: unknown keys are refused, and
 * so are keys that could reach an object's prototype (`__proto__`, `constructor`, `prototype`) anywhere,
 * free-form JSON included.
 */
import type { JsonObject, JsonValue } from '../json.ts';

export class FieldError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
    this.name = 'FieldError';
  }
}

export type Check<T> = (value: unknown, path: string) => T;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return v.length > 40 ? `a ${v.length}-character text` : `the text ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number') return `the number ${v}`;
  return `${typeof v} ${String(v)}`;
}

const at = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

export function str(opts: { max: number; min?: number; pattern?: RegExp; hint?: string }): Check<string> {
  return (v, path) => {
    if (typeof v !== 'string') throw new FieldError(path, `expected text, found ${describe(v)}`);
    if (v.length < (opts.min ?? 0)) throw new FieldError(path, opts.min === 1 ? 'must not be empty' : `must have at least ${opts.min} characters`);
    if (v.length > opts.max) throw new FieldError(path, `is ${v.length} characters long; at most ${opts.max} are allowed`);
    if (opts.pattern && !opts.pattern.test(v)) throw new FieldError(path, `${describe(v)} is not ${opts.hint ?? 'in the expected form'}`);
    return v;
  };
}

export function num(opts: { min?: number; max?: number; integer?: boolean } = {}): Check<number> {
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FieldError(path, `expected a number, found ${describe(v)}`);
    if (opts.integer && !Number.isInteger(v)) throw new FieldError(path, `expected a whole number, found ${v}`);
    if (opts.min !== undefined && v < opts.min) throw new FieldError(path, `must be at least ${opts.min}, found ${v}`);
    if (opts.max !== undefined && v > opts.max) throw new FieldError(path, `must be at most ${opts.max}, found ${v}`);
    return v;
  };
}

export const bool: Check<boolean> = (v, path) => {
  if (typeof v !== 'boolean') throw new FieldError(path, `expected true or false, found ${describe(v)}`);
  return v;
};

export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return (v, path) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new FieldError(path, `expected one of ${values.join(', ')}; found ${describe(v)}`);
    }
    return v as T;
  };
}

export function exactly<const T extends string | number>(value: T): Check<T> {
  return (v, path) => {
    if (v !== value) throw new FieldError(path, `expected ${JSON.stringify(value)}, found ${describe(v)}`);
    return value;
  };
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, path) => (v === null ? null : check(v, path));
}

export function arrayOf<T>(check: Check<T>, max: number): Check<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) throw new FieldError(path, `expected a list, found ${describe(v)}`);
    if (v.length > max) throw new FieldError(path, `has ${v.length} items; at most ${max} are allowed`);
    return v.map((item, i) => check(item, at(path, i)));
  };
}

function plainObject(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FieldError(path, `expected an object, found ${describe(v)}`);
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw new FieldError(path, 'expected a plain object');
  for (const key of Object.keys(v)) {
    if (FORBIDDEN_KEYS.has(key)) throw new FieldError(at(path, key), `the key "${key}" is not allowed (it could alter objects' prototypes)`);
  }
  return v as Record<string, unknown>;
}

const OPTIONAL = Symbol('optional');
type Optional<T> = Check<T | undefined> & { [OPTIONAL]: true };

/** A key that may be absent (rows written before the field existed); when present it must pass `check`. */
export function optional<T>(check: Check<T>): Optional<T> {
  return Object.assign((v: unknown, path: string) => check(v, path), { [OPTIONAL]: true as const });
}

function isOptional(c: Check<unknown>): boolean {
  return OPTIONAL in c;
}

type Shape = Record<string, Check<unknown>>;
type Out<S extends Shape> = { [K in keyof S]: S[K] extends Check<infer T> ? T : never };

/** An object with exactly these keys (required unless wrapped in optional(); nullable() allows null). */
export function object<S extends Shape>(shape: S): Check<Out<S>>;
/** An object with these keys plus any others, each checked by `rest` (for metric points). */
export function object<S extends Shape, R>(shape: S, rest: Check<R>): Check<Out<S> & Record<string, R>>;
export function object(shape: Shape, rest?: Check<unknown>): Check<Record<string, unknown>> {
  return (v, path) => {
    const o = plainObject(v, path);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(shape)) {
      if (!Object.hasOwn(o, key)) {
        if (isOptional(shape[key])) continue;
        throw new FieldError(at(path, key), 'is missing');
      }
      out[key] = shape[key](o[key], at(path, key));
    }
    for (const key of Object.keys(o)) {
      if (Object.hasOwn(shape, key)) continue;
      if (!rest) throw new FieldError(at(path, key), 'is not a known field');
      out[key] = rest(o[key], at(path, key));
    }
    return out;
  };
}

export interface JsonLimits {
  maxDepth: number;
  maxStringChars: number;
  /** Values, keys and items in total. */
  maxNodes: number;
}

/** Any JSON value within the limits, with no prototype-reaching keys. */
export function jsonValue(limits: JsonLimits): Check<JsonValue> {
  return (v, path) => {
    let nodes = 0;
    const walk = (x: unknown, p: string, depth: number): JsonValue => {
      if (++nodes > limits.maxNodes) throw new FieldError(path, `holds more than ${limits.maxNodes} values`);
      if (depth > limits.maxDepth) throw new FieldError(p, `is nested more than ${limits.maxDepth} levels deep`);
      if (x === null || typeof x === 'boolean') return x;
      if (typeof x === 'number') {
        if (!Number.isFinite(x)) throw new FieldError(p, 'expected a finite number');
        return x;
      }
      if (typeof x === 'string') {
        if (x.length > limits.maxStringChars) {
          throw new FieldError(p, `is ${x.length} characters long; at most ${limits.maxStringChars} are allowed`);
        }
        return x;
      }
      if (Array.isArray(x)) return x.map((item, i) => walk(item, at(p, i), depth + 1));
      const o = plainObject(x, p);
      const out: JsonObject = {};
      for (const key of Object.keys(o)) {
        if (key.length > limits.maxStringChars) throw new FieldError(p, 'has a key that is too long');
        out[key] = walk(o[key], at(p, key), depth + 1);
      }
      return out;
    };
    return walk(v, path, 0);
  };
}

export function jsonObject(limits: JsonLimits): Check<JsonObject> {
  const value = jsonValue(limits);
  return (v, path) => {
    plainObject(v, path);
    return value(v, path) as JsonObject;
  };
}
